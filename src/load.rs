//! What a command works on, loaded with messages that name it: a finished
//! session's change set, an appliance spec.

use anyhow::{bail, Context, Result};
use std::path::Path;

pub fn load_spec(path: Option<&Path>) -> Result<manifest_gen::descriptor::Spec> {
    let Some(p) = path else {
        return Ok(Default::default());
    };
    let text = std::fs::read_to_string(p)
        .with_context(|| format!("cannot read the appliance spec {}", p.display()))?;
    manifest_gen::descriptor::Spec::parse(&text).with_context(|| format!("in {}", p.display()))
}

/// The change set of a finished session; a recording one is an error that
/// says what to do.
pub fn finished(store: &recorder::Store, name: &str) -> Result<recorder::model::ChangeSet> {
    let cs = store.change_set(name)?;
    if cs.session.state != recorder::model::SessionState::Finished {
        bail!("session '{name}' is still recording: run `cft finish {name}` first");
    }
    Ok(cs)
}
