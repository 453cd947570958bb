//! Evaluation: a rule, a flag, a flag set, in the fixed order (kill switch
//! -> enabled -> prerequisites -> allow -> deny -> rollout), written once
//! in [`flag`] and run both for plain decisions and, through a tracer, for
//! explanations.

pub(crate) mod bucket;
pub(crate) mod decision;
pub(crate) mod explain;
pub(crate) mod flag;
pub(crate) mod flag_set;
pub(crate) mod metadata;
pub(crate) mod rule;
pub(crate) mod schedule;
pub(crate) mod variant;
