//! The English for the plan's decisions: why a change is left out or
//! only partly expressed, what a class parameter supplies and why the
//! module needs it. Shared by `README.md`, the [`Report`] the caller
//! prints and the planners' error messages; plain text, escaped for
//! Markdown by whoever puts it there.

pub(crate) use crate::plan::catalog::param_subject;
use crate::plan::catalog::{Param, Supplies};
use crate::plan::outcome::{LeftOut, Reason, Subject, Uncaptured};
use crate::plan::Plan;
use crate::{Parameter, Report, SiteParameter, Skipped};
use recorder::model::{display_path, EntryKind};
use std::fmt;

impl fmt::Display for Uncaptured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uncaptured::Unreadable => {
                f.write_str("its content could not be read when it was recorded")
            }
            Uncaptured::HashOnly { size } => write!(
                f,
                "its content was not captured, only its hash ({size} bytes)"
            ),
            Uncaptured::MissingFromStore => f.write_str("its content is missing from the store"),
            Uncaptured::HashMismatch => {
                f.write_str("the stored content does not match its recorded hash")
            }
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Path(p) => f.write_str(&display_path(p)),
            Subject::Package(name) => write!(f, "package {name}"),
            Subject::Group(name) => write!(f, "group {name}"),
            Subject::User(name) => write!(f, "user {name}"),
            Subject::Service(unit) => write!(f, "service {unit}"),
            Subject::Diversion(p) => write!(f, "diversion {}", display_path(p)),
        }
    }
}

impl Subject {
    /// What the subject is, in "this ..." phrases.
    fn noun(&self) -> &'static str {
        match self {
            Subject::Path(_) => "path",
            Subject::Package(_) => "package",
            Subject::Group(_) => "group",
            Subject::User(_) => "user",
            Subject::Service(_) => "service",
            Subject::Diversion(_) => "diversion",
        }
    }
}

/// Why `l` is not in the module.
pub(crate) fn left_out_reason(l: &LeftOut) -> String {
    match &l.reason {
        Reason::Excluded => "left out of the module on purpose (--exclude)".into(),
        Reason::ListedTwice => format!(
            "the change set lists this {} twice; only the first record is used",
            l.subject.noun()
        ),
        Reason::NulInPath => {
            "the path contains a NUL byte, which no Linux path can hold (corrupt record?)".into()
        }
        Reason::RelativePath => {
            "the path is not absolute, and Puppet only manages fully qualified paths".into()
        }
        Reason::PathNotUtf8 => {
            "the path is not valid UTF-8: Puppet manifests are UTF-8 text and cannot name it".into()
        }
        Reason::NoLinkTarget => "the symlink's target was not recorded".into(),
        Reason::EmptyLinkTarget => {
            "the symlink's recorded target is empty or contains a NUL byte".into()
        }
        Reason::LinkTargetNotUtf8(target) => format!(
            "the symlink's target {} is not valid UTF-8, which a Puppet manifest cannot hold",
            display_path(target)
        ),
        Reason::SpecialMetadata(kind) => format!(
            "only the ownership or mode of this {} changed, and Puppet's file type does not manage special files",
            kind_name(*kind)
        ),
        Reason::SpecialFile(kind) => format!(
            "it is a {}: Puppet's file type cannot create fifos, sockets or device nodes (use an exec running mkfifo or mknod)",
            kind_name(*kind)
        ),
        Reason::NoStateAfter => "its state after the session was not recorded".into(),
        Reason::NothingToManage => "nothing to manage: neither its enablement nor its running state changed, and none of its files is in this module".into(),
        Reason::DiversionNotUtf8 => {
            "the path is not valid UTF-8, which a Puppet manifest cannot hold".into()
        }
    }
}

fn kind_name(k: EntryKind) -> &'static str {
    match k {
        EntryKind::CharDevice => "character device",
        EntryKind::BlockDevice => "block device",
        other => other.as_str(),
    }
}

/// Why a file is managed without its content.
pub(crate) fn partial_reason(why: Uncaptured) -> String {
    format!("{why}; only its ownership and mode are managed")
}

/// Why the module needs the parameter.
pub(crate) fn param_why(p: &Param) -> String {
    match &p.supplies {
        Supplies::Content {
            uncaptured: None, ..
        } => "a secret, withheld from the module (generate it with secrets included to embed it)"
            .into(),
        Supplies::Content {
            uncaptured: Some(why),
            ..
        } => format!("a secret that was not captured: {why}"),
        Supplies::Password { recorded: true, .. } => "its password hash was set in the session and is withheld from the module (generate it with secrets included to embed it)".into(),
        Supplies::Password { recorded: false, .. } => {
            "its password was set in the session but its hash was not recorded".into()
        }
        Supplies::Site { .. } => "a site value; the default is the recorded one".into(),
    }
}

/// What the caller shows of a plan.
pub(crate) fn report(plan: &Plan) -> Report {
    let not = &plan.outcomes.not_expressed;
    Report {
        resources: plan.catalog.resources.len(),
        titles: plan
            .catalog
            .resources
            .iter()
            .map(|r| format!("{} {}", r.kind, r.title))
            .collect(),
        skipped: not
            .left_out
            .iter()
            .map(|l| Skipped {
                path: l.subject.to_string(),
                reason: left_out_reason(l),
            })
            .collect(),
        incomplete: not
            .partial
            .iter()
            .map(|(path, why)| Skipped {
                path: display_path(path),
                reason: partial_reason(*why),
            })
            .collect(),
        parameters: plan
            .catalog
            .params
            .iter()
            .filter(|p| p.default().is_none())
            .map(|p| Parameter {
                name: p.name.clone(),
                puppet_type: p.puppet_type().to_string(),
                path: param_subject(p),
                why: param_why(p),
            })
            .collect(),
        site_parameters: plan
            .catalog
            .params
            .iter()
            .filter_map(|p| match &p.supplies {
                Supplies::Site { literal, paths } => Some(SiteParameter {
                    name: p.name.clone(),
                    default: literal.clone(),
                    paths: paths.iter().map(|p| display_path(p)).collect(),
                    lines: paths
                        .iter()
                        .map(|path| {
                            plan.content
                                .site_lines
                                .get(&(p.name.clone(), path.clone()))
                                .cloned()
                                .unwrap_or_default()
                        })
                        .collect(),
                }),
                _ => None,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_twice_names_what_it_is() {
        let cases = [
            (
                Subject::Path(b"/etc/x".to_vec()),
                "/etc/x",
                "this path twice",
            ),
            (
                Subject::Package("jq".into()),
                "package jq",
                "this package twice",
            ),
            (
                Subject::Group("web".into()),
                "group web",
                "this group twice",
            ),
            (
                Subject::User("alice".into()),
                "user alice",
                "this user twice",
            ),
            (
                Subject::Service("a.service".into()),
                "service a.service",
                "this service twice",
            ),
        ];
        for (subject, shown, want) in cases {
            assert_eq!(subject.to_string(), shown);
            let l = LeftOut {
                subject,
                reason: Reason::ListedTwice,
            };
            assert!(left_out_reason(&l).contains(want), "{shown}");
        }
        let d = Subject::Diversion(b"/etc/\xff".to_vec());
        assert_eq!(d.to_string(), "diversion /etc/\\xff");
    }

    #[test]
    fn special_files_are_named_in_words() {
        let l = |reason| LeftOut {
            subject: Subject::Path(b"/dev/x".to_vec()),
            reason,
        };
        let cases = [
            (Reason::SpecialFile(EntryKind::Fifo), "it is a fifo: "),
            (
                Reason::SpecialMetadata(EntryKind::CharDevice),
                "this character device changed",
            ),
            (
                Reason::SpecialFile(EntryKind::BlockDevice),
                "a block device:",
            ),
        ];
        for (reason, want) in cases {
            let text = left_out_reason(&l(reason));
            assert!(text.contains(want), "{text}");
        }
    }

    #[test]
    fn uncaptured_cases() {
        let cases = [
            (Uncaptured::Unreadable, "could not be read"),
            (Uncaptured::HashOnly { size: 7 }, "only its hash (7 bytes)"),
            (Uncaptured::MissingFromStore, "missing from the store"),
            (Uncaptured::HashMismatch, "does not match"),
        ];
        for (why, want) in cases {
            assert!(partial_reason(why).contains(want), "{why}");
            assert!(partial_reason(why).ends_with("only its ownership and mode are managed"));
        }
    }
}
