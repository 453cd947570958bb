//! `segments`: named rules compiled once, in dependency order, into the
//! table every rule resolves `@name` in.

use super::link::depth_first;
use super::{Loader, Place};
use crate::config::lint::{self, At};
use crate::document::{Member, NodeKind};
use crate::error::{ErrorKind, Span};
use crate::plan::compile::compile_within;
use crate::plan::Segment;
use crate::syntax::ast::{Expr, ExprKind};
use std::collections::HashMap;
use std::sync::Arc;

/// Calls `f` with the name and span of every `@segment` reference in
/// `expr`. The tree's depth is bounded by the parser's nesting limit.
pub(super) fn references(expr: &Expr, f: &mut impl FnMut(&str, Span)) {
    match &expr.kind {
        ExprKind::Or(xs) | ExprKind::And(xs) => xs.iter().for_each(|x| references(x, f)),
        ExprKind::Not(x) => references(x, f),
        ExprKind::Segment(name) => f(name, expr.span),
        ExprKind::Compare(_) | ExprKind::Exists(_) | ExprKind::Truthy(_) => {}
    }
}

impl Loader<'_> {
    /// Compiles the file's `segments`: parsed first, ordered so that each
    /// is compiled after the segments it uses, then compiled once each into
    /// the table every rule resolves `@name` in. Cycles and bad names are
    /// reported; a segment with errors stays in the table as failed, so
    /// its users are told why.
    pub(super) fn declare_segments(&mut self, member: &Member) {
        let top = Place {
            flag: super::Owner::Named("segments"),
            key: None,
        };
        let members = match &member.value.value {
            NodeKind::Object(members) => members,
            NodeKind::Null => return,
            other => {
                self.report(
                    &top,
                    "",
                    ErrorKind::WrongType,
                    member.value.span,
                    format!(
                        "\"segments\" must be an object of named rules, not {}",
                        other.type_name()
                    ),
                    Some(r#"write {"internal": "email endsWith \"@internal.com\""}"#.into()),
                );
                return;
            }
        };
        // Parse, and find each segment's references.
        let mut parsed: Vec<(&Member, Option<Expr>)> = Vec::with_capacity(members.len());
        for m in members {
            let named = matches!(
                crate::syntax::parse(&format!("@{}", m.key), self.limits),
                Ok(Expr { kind: ExprKind::Segment(ref n), .. }) if *n == m.key
            );
            if !named {
                self.report(
                    &top,
                    &m.key,
                    ErrorKind::InvalidLiteral,
                    m.key_span,
                    format!("\"{}\" cannot name a segment", m.key),
                    Some("a segment name is an identifier: letters, digits and `_`, not starting with a digit".into()),
                );
                self.segments.by_name.insert(m.key.to_string(), None);
                parsed.push((m, None));
                continue;
            }
            let expr = self.rule_expr(&top, &m.key, &m.value);
            self.segments.by_name.insert(m.key.to_string(), None);
            parsed.push((m, expr));
        }
        let index: HashMap<&str, usize> = parsed
            .iter()
            .enumerate()
            .map(|(i, (m, _))| (&*m.key, i))
            .collect();
        let mut refs: Vec<Vec<(usize, Span)>> = Vec::with_capacity(parsed.len());
        for (m, expr) in &parsed {
            self.declared_segments.push((m.key.to_string(), m.key_span));
            let mut found = Vec::new();
            if let Some(expr) = expr {
                references(expr, &mut |name, span| {
                    self.referenced.insert(name.to_string());
                    if let Some(&k) = index.get(name) {
                        found.push((k, span));
                    }
                });
            }
            refs.push(found);
        }
        let parents: Vec<Vec<usize>> = refs
            .iter()
            .map(|r| r.iter().map(|(k, _)| *k).collect())
            .collect();
        let (order, cycles) = depth_first(&parents);
        let mut in_cycle = vec![false; parsed.len()];
        for cycle in &cycles {
            let names: Vec<String> = cycle
                .path
                .iter()
                .map(|&n| format!("@{}", parsed[n].0.key))
                .collect();
            let (m, _) = parsed[cycle.node];
            let span = refs[cycle.node]
                .get(cycle.edge)
                .map_or(m.value.span, |(_, s)| self.file_span(&m.value, Some(*s)));
            self.report(
                &top,
                &m.key,
                ErrorKind::Cycle,
                span,
                format!("segment cycle: {}", names.join(" -> ")),
                Some("a segment cannot use itself, directly or through other segments".into()),
            );
            for &n in &cycle.path {
                in_cycle[n] = true;
            }
        }
        for i in order {
            let (m, Some(expr)) = &parsed[i] else {
                continue;
            };
            if in_cycle[i] {
                continue;
            }
            let compiled = match compile_within(expr, self.limits, &self.segments, &mut self.spent)
            {
                Ok(compiled) => compiled,
                Err(e) => {
                    let span = self.file_span(&m.value, e.span());
                    self.error(&top, &m.key, &e, span);
                    continue;
                }
            };
            let errors = self.schema.map(|s| s.check(expr)).unwrap_or_default();
            for e in &errors {
                let span = self.file_span(&m.value, e.span());
                self.error(&top, &m.key, e, span);
            }
            if !errors.is_empty() {
                continue;
            }
            // A segment's own mistakes (`a and not a`, a regex matching
            // everything) are warned about once, where it is declared.
            let mut found = Vec::new();
            lint::expr(expr, At::Field("segments"), &mut found);
            for f in found {
                let message = f.message.replacen("this rule", "this segment", 1);
                self.lint(&top, &m.key, f.kind, m.value.span, message, f.help);
            }
            let segment = Segment {
                name: m.key.as_ref().into(),
                expr: expr.clone(),
                program: compiled.program,
                uses: compiled.uses.into_boxed_slice(),
                depth: compiled.depth + 1,
                cost: compiled.cost.max(1),
            };
            self.segments
                .by_name
                .insert(m.key.to_string(), Some(Arc::new(segment)));
        }
    }

    /// Warns about segments that compiled but that no rule and no other
    /// segment uses. Not when a reference went unresolved: that is most
    /// likely the same name misspelt, and its error says so already.
    pub(super) fn unused_segments(&mut self) {
        let top = Place {
            flag: super::Owner::Named("segments"),
            key: None,
        };
        if self
            .diagnostics
            .iter()
            .any(|d| d.kind() == ErrorKind::UnknownSegment)
        {
            return;
        }
        let unused: Vec<(String, Span)> = self
            .declared_segments
            .iter()
            .filter(|(name, _)| {
                !self.referenced.contains(name)
                    && matches!(self.segments.by_name.get(name), Some(Some(_)))
            })
            .cloned()
            .collect();
        for (name, span) in unused {
            self.lint(
                &top,
                &name,
                ErrorKind::UnusedSegment,
                span,
                format!("segment `@{name}` is not used by any rule"),
                Some(format!("remove it, or use it in a rule as `@{name}`")),
            );
        }
    }
}
