//! `requires`: prerequisites resolved to the flags themselves, parents
//! first; unknown keys, cycles, and chains too deep or too costly are
//! reported.

use super::{Loader, Place};
use crate::document::{Member, NodeKind};
use crate::error::{ErrorKind, Span};
use crate::eval::flag::Flag;
use std::collections::HashMap;
use std::sync::Arc;

/// A compiled flag whose prerequisites are not linked yet.
pub(super) struct Pending {
    pub(super) flag: Flag,
    /// The `requires` entries: flag keys and their spans.
    pub(super) requires: Vec<(String, Span)>,
    /// The flag's place (`flags[3]`), for diagnostics.
    pub(super) place: super::Owner,
    /// How many tests one evaluation of the flag's own rules may run.
    pub(super) tests: usize,
}

/// How long a chain of prerequisites may be: evaluation recurses along it.
const MAX_PREREQUISITE_DEPTH: usize = 32;

/// How many flag evaluations one flag's prerequisites may imply, counting
/// shared ancestors once per path (evaluation keeps no memo, to stay
/// allocation-free, so a wide diamond of prerequisites costs this much).
const MAX_PREREQUISITE_COST: u64 = 1024;

/// With more flags than this in a file, an unknown prerequisite gets no
/// "did you mean" suggestion.
const MAX_SUGGESTED_FROM: usize = 1000;

/// A cycle found by [`depth_first`]: the `edge`-th parent of `node` closes
/// it; `path` runs from that parent through `node` and back to it.
pub(super) struct CycleFound {
    pub(super) node: usize,
    pub(super) edge: usize,
    pub(super) path: Vec<usize>,
}

/// Orders a graph given as each node's parents so that parents come before
/// their children (post-order), and finds the cycles that prevent it. The
/// search is iterative: a file may hold thousands of nodes in one chain.
pub(super) fn depth_first(parents: &[Vec<usize>]) -> (Vec<usize>, Vec<CycleFound>) {
    const UNSEEN: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let n = parents.len();
    let mut state = vec![UNSEEN; n];
    let mut order = Vec::with_capacity(n);
    let mut cycles = Vec::new();
    for root in 0..n {
        if state[root] != UNSEEN {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = ON_PATH;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            let Some(&parent) = parents[node].get(*next) else {
                state[node] = DONE;
                order.push(node);
                path.pop();
                continue;
            };
            let edge = *next;
            *next += 1;
            match state.get(parent) {
                Some(&UNSEEN) => {
                    state[parent] = ON_PATH;
                    path.push((parent, 0));
                }
                Some(&ON_PATH) => {
                    let from = path.iter().position(|(n, _)| *n == parent).unwrap_or(0);
                    let mut cycle: Vec<usize> = path[from..].iter().map(|(n, _)| *n).collect();
                    cycle.push(parent);
                    cycles.push(CycleFound {
                        node,
                        edge,
                        path: cycle,
                    });
                }
                _ => {}
            }
        }
    }
    (order, cycles)
}

impl Loader<'_> {
    /// Reads a `requires` list of flag keys.
    pub(super) fn requires(
        &mut self,
        place: &Place<'_>,
        member: &Member,
    ) -> Option<Vec<(String, Span)>> {
        let items = match &member.value.value {
            NodeKind::Null => return Some(Vec::new()),
            NodeKind::Array(items) => items,
            other => {
                self.report(
                    place,
                    "requires",
                    ErrorKind::WrongType,
                    member.value.span,
                    format!(
                        "requires must be an array of flag keys, not {}",
                        other.type_name()
                    ),
                    Some("write [\"checkout_enabled\"]".into()),
                );
                return None;
            }
        };
        let mut keys = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match &item.value {
                NodeKind::String(key) if !key.is_empty() => keys.push((key.to_string(), item.span)),
                other => {
                    self.report(
                        place,
                        format_args!("requires[{i}]"),
                        ErrorKind::WrongType,
                        item.span,
                        format!("a prerequisite is a flag key, not {}", other.type_name()),
                        None,
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(keys)
    }

    /// Resolves the prerequisites of the flags of one file and builds the
    /// shared flags, parents first. Unknown keys, cycles and chains too
    /// deep or too wide are reported; the flags are then not built.
    pub(super) fn link(
        &mut self,
        pending: Vec<Pending>,
        declared: &HashMap<&str, Span>,
    ) -> Vec<Arc<Flag>> {
        // Most files have no prerequisites: nothing to resolve or order.
        if pending.iter().all(|p| p.requires.is_empty()) {
            return pending.into_iter().map(|p| Arc::new(p.flag)).collect();
        }
        let index: HashMap<&str, usize> = pending
            .iter()
            .enumerate()
            .map(|(i, p)| (&*p.flag.key, i))
            .collect();
        let mut ok = true;
        let mut parents: Vec<Vec<usize>> = Vec::with_capacity(pending.len());
        // (flag, its `requires` entry, kind, message, help)
        let mut problems: Vec<(usize, usize, ErrorKind, String, String)> = Vec::new();
        for (i, p) in pending.iter().enumerate() {
            let mut resolved = Vec::with_capacity(p.requires.len());
            for (j, (name, _)) in p.requires.iter().enumerate() {
                match index.get(name.as_str()) {
                    Some(&k) => resolved.push(k),
                    // Declared but not compiled: its own errors stop the load.
                    None if declared.contains_key(name.as_str()) => ok = false,
                    None => {
                        // With very many flags, no suggestion: it would
                        // cost a pass over all keys for each unknown one.
                        let keys = index.keys().copied().filter(|k| *k != &*p.flag.key);
                        let guess = if index.len() > MAX_SUGGESTED_FROM {
                            None
                        } else {
                            crate::suggest::closest(name, keys)
                        };
                        let help = guess.map_or_else(
                            || {
                                "a prerequisite is the flag_key of another flag in the same file"
                                    .to_string()
                            },
                            |g| crate::suggest::did_you_mean(g, crate::suggest::Quote::Config),
                        );
                        let message = format!("no flag \"{name}\" in this file");
                        problems.push((i, j, ErrorKind::UnknownFlag, message, help));
                    }
                }
            }
            parents.push(resolved);
        }
        let n = pending.len();
        let (order, cycles) = depth_first(&parents);
        for cycle in cycles {
            let names: Vec<&str> = cycle.path.iter().map(|&k| &*pending[k].flag.key).collect();
            problems.push((
                cycle.node,
                cycle.edge,
                ErrorKind::Cycle,
                format!("prerequisite cycle: {}", names.join(" -> ")),
                "a flag cannot require itself, directly or through other flags".into(),
            ));
        }
        // Depth and evaluation cost, parents first (`order` is post-order).
        if problems.is_empty() {
            let mut depth = vec![0usize; n];
            let mut cost = vec![0u64; n];
            // Tests, its prerequisites' counted once per path as they are
            // evaluated (bounded by `Limits::max_tests_per_flag`).
            let mut tests = vec![0usize; n];
            for &i in &order {
                tests[i] = parents[i]
                    .iter()
                    .fold(pending[i].tests, |acc, &k| acc.saturating_add(tests[k]));
                depth[i] = 1 + parents[i].iter().map(|&k| depth[k]).max().unwrap_or(0);
                cost[i] = parents[i]
                    .iter()
                    .fold(1u64, |acc, &k| acc.saturating_add(cost[k]));
                if depth[i] > MAX_PREREQUISITE_DEPTH + 1 {
                    problems.push((
                        i,
                        0,
                        ErrorKind::TooDeep,
                        format!(
                            "this flag's prerequisites form a chain {} flags deep; at most {MAX_PREREQUISITE_DEPTH} are allowed",
                            depth[i] - 1
                        ),
                        "require the flag at the top of the chain directly".into(),
                    ));
                    depth[i] = 1;
                } else if cost[i] > MAX_PREREQUISITE_COST {
                    problems.push((
                        i,
                        0,
                        ErrorKind::TooLong,
                        format!(
                            "evaluating this flag would evaluate {} prerequisite flags (shared ones once per path); at most {MAX_PREREQUISITE_COST} are allowed",
                            cost[i] - 1
                        ),
                        "require fewer flags, or the ones they have in common directly".into(),
                    ));
                    cost[i] = 1;
                } else if tests[i] > self.limits.max_tests_per_flag {
                    problems.push((
                        i,
                        0,
                        ErrorKind::TooLong,
                        format!(
                            "with its prerequisites, one evaluation of this flag may run {} tests; at most {} are allowed",
                            tests[i], self.limits.max_tests_per_flag
                        ),
                        "require fewer or cheaper flags, or raise `Limits::max_tests_per_flag`".into(),
                    ));
                    tests[i] = 0;
                }
            }
        }
        for (i, j, kind, message, help) in problems {
            let p = &pending[i];
            let place = Place {
                flag: p.place,
                key: Some(&p.flag.key),
            };
            let span = p.requires.get(j).map_or(Span::new(0, 0), |(_, s)| *s);
            self.report(
                &place,
                format_args!("requires[{j}]"),
                kind,
                span,
                message,
                Some(help),
            );
            ok = false;
        }
        if !ok {
            return Vec::new();
        }
        let mut flags: Vec<Option<Flag>> = pending.into_iter().map(|p| Some(p.flag)).collect();
        let mut built: Vec<Option<Arc<Flag>>> = vec![None; n];
        for &i in &order {
            let Some(mut flag) = flags[i].take() else {
                continue;
            };
            flag.requires = parents[i]
                .iter()
                .filter_map(|&k| built[k].clone())
                .collect();
            built[i] = Some(Arc::new(flag));
        }
        built.into_iter().flatten().collect()
    }
}
