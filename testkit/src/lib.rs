//! What cft's tests share and no user of cft needs: the whole-system
//! comparison of a recorded root with an applied one (`system`), and tier
//! 2's preconditions (`tools`).
//!
//! Nothing here links against cft's own crates: a judge that used cft's
//! probes would share their bugs.

pub mod system;
pub mod tools;
