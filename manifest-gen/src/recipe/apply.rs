//! How an instantiated kickstart gets the recipe's configuration onto the
//! new machine: masterless (the recipe's own `%post` scripts copy the
//! module and `puppet apply` it, the class declared with the mandatory
//! parameters the site kickstart gives as `# cft-param NAME=VALUE`
//! comment lines), or from a Puppet server (the recipe's scripts are
//! replaced by one that points the agent at the server, runs it once and
//! enables it; mandatory parameters then come from the server's Hiera and
//! never appear in the kickstart).
//!
//! The recipe's scripts are found by their `# cft-step: STEP MODULE`
//! comment; values reach shell and Puppet text only after validation
//! (host names, ports, environment names) or quoting
//! ([`crate::puppet::quote`] inside a quoted here-document).

use super::ks::{Item, Kickstart, Line, Section};
use crate::kickstart::{REQUIRES, STEP};
use crate::Error;
use std::collections::BTreeMap;

/// The here-document that carries mandatory parameter values.
pub(crate) const HEREDOC: &str = "<<'CFT_SITE_EOF'";

/// The site's comment line giving a mandatory parameter's value.
pub const PARAM: &str = "# cft-param ";

/// Where the machine's configuration comes from.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Apply {
    /// The module from the install tree, applied by `puppet apply`.
    #[default]
    Masterless,
    /// The agent, from a Puppet server.
    Server(Server),
}

/// A Puppet server, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub environment: Option<String>,
}

impl Server {
    /// `HOST[:PORT]` (port 8140 by default) and an optional environment.
    pub fn parse(server: &str, environment: Option<&str>) -> Result<Server, Error> {
        let bad = |reason: &'static str| Error::ServerArg {
            arg: "--server",
            value: server.to_string(),
            reason,
        };
        let (host, port) = match server.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or(bad("the port is a number from 1 to 65535"))?,
            ),
            None => (server, 8140),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if host.len() > 253 || !host.split('.').all(label_ok) {
            return Err(bad("give a host name or IPv4 address (letters, digits, '-' and '.'), then :PORT if not 8140"));
        }
        if let Some(e) = environment {
            super::environment::check_environment(e)?;
        }
        Ok(Server {
            host: host.to_ascii_lowercase(),
            port,
            environment: environment.map(str::to_string),
        })
    }
}

/// A `# cft-requires NAME TYPE` line of the recipe.
struct Required {
    name: String,
    puppet_type: String,
}

fn required(r: &Kickstart) -> Vec<Required> {
    trivia(r)
        .filter_map(|l| l.text.trim_start().strip_prefix(REQUIRES))
        .filter_map(|rest| {
            let mut w = rest.split_whitespace();
            Some(Required {
                name: w.next()?.to_string(),
                puppet_type: w.next().unwrap_or("String").to_string(),
            })
        })
        .collect()
}

/// Every comment line outside a section's body: among the commands, or
/// above a section (where the parser keeps it with the section).
fn trivia(k: &Kickstart) -> impl Iterator<Item = &Line> {
    k.items.iter().flat_map(|i| match i {
        Item::Trivia(l) => std::slice::from_ref(l).iter(),
        Item::Section(s) => s.leading.iter(),
        Item::Command(_) => [].iter(),
    })
}

fn is_param_line(l: &Line) -> bool {
    l.text.trim_start().starts_with(PARAM)
}

/// The site's `# cft-param NAME=VALUE` lines, by name.
fn site_params(s: &Kickstart) -> Result<BTreeMap<String, (String, usize)>, Error> {
    let mut out = BTreeMap::new();
    for l in trivia(s).filter(|l| is_param_line(l)) {
        let rest = l.text.trim_start()[PARAM.len()..].trim_end();
        let syntax = |reason: String| Error::KsSyntax {
            file: s.file.clone(),
            line: l.number,
            reason,
        };
        let Some((name, value)) = rest.split_once('=') else {
            return Err(syntax("write `# cft-param NAME=VALUE`".into()));
        };
        let name = name.trim();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(syntax(format!("`{name}` is not a class parameter name")));
        }
        if value.chars().any(char::is_control) {
            return Err(syntax("the value holds a control character".into()));
        }
        if let Some((_, first)) = out.insert(name.to_string(), (value.to_string(), l.number)) {
            return Err(syntax(format!("`{name}` is already given on line {first}")));
        }
    }
    Ok(out)
}

/// The recipe's script tagged `# cft-step: STEP MODULE`: its module.
fn step<'a>(sec: &'a Section, which: &str) -> Option<&'a str> {
    sec.leading.iter().find_map(|l| {
        l.text
            .trim()
            .strip_prefix(STEP)?
            .strip_prefix(which)?
            .strip_prefix(' ')
            .map(str::trim)
    })
}

/// Rewrite the recipe's scripts for `apply`, checking the site's
/// parameter lines, and drop those lines from the site file (their values
/// are in the recipe's script, or belong to the server).
pub(crate) fn prepare(r: &mut Kickstart, s: &mut Kickstart, apply: &Apply) -> Result<(), Error> {
    // Values are the site's: a recipe that brings its own is refused.
    if let Some(l) = trivia(r).find(|l| is_param_line(l)) {
        return Err(Error::KsSyntax {
            file: r.file.clone(),
            line: l.number,
            reason: "a recipe's partial kickstart gives no parameter values (`# cft-param` lines are the site's)".into(),
        });
    }
    let given = site_params(s)?;
    let needed = required(r);
    s.items
        .retain(|i| !matches!(i, Item::Trivia(l) if is_param_line(l)));
    let module = r
        .sections()
        .find_map(|sec| step(sec, "apply-module"))
        .map(str::to_string);
    match apply {
        Apply::Server(server) => {
            if let Some((name, (_, line))) = given.iter().next() {
                return Err(Error::KsSyntax {
                    file: s.file.clone(),
                    line: *line,
                    reason: format!("`{name}`: with --server, mandatory parameters come from the server's Hiera, not from the kickstart; remove the line"),
                });
            }
            let Some(module) = module else {
                return Err(no_steps(r));
            };
            r.items.retain(|i| match i {
                Item::Section(sec) => {
                    step(sec, "copy-module").is_none() && step(sec, "apply-module").is_none()
                }
                _ => true,
            });
            r.items
                .push(Item::Section(agent_section(server, &module, &needed)));
            Ok(())
        }
        Apply::Masterless => {
            for (name, (_, line)) in &given {
                if !needed.iter().any(|p| &p.name == name) {
                    let known: Vec<&str> = needed.iter().map(|p| p.name.as_str()).collect();
                    return Err(Error::KsSyntax {
                        file: s.file.clone(),
                        line: *line,
                        reason: format!(
                            "the recipe's class has no mandatory parameter `{name}` (it has: {})",
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    });
                }
            }
            let missing: Vec<&str> = needed
                .iter()
                .filter(|p| !given.contains_key(&p.name))
                .map(|p| p.name.as_str())
                .collect();
            if !missing.is_empty() {
                return Err(Error::MissingParams {
                    names: missing.join(", "),
                    site: s.file.clone(),
                });
            }
            if needed.is_empty() {
                return Ok(());
            }
            let Some(module) = module else {
                return Err(no_steps(r));
            };
            let values: Vec<(&Required, &str)> = needed
                .iter()
                .map(|p| (p, given[&p.name].0.as_str()))
                .collect();
            for i in &mut r.items {
                if let Item::Section(sec) = i {
                    if step(sec, "apply-module").is_some() {
                        sec.body = lines(&apply_with_params(&module, &values));
                    }
                }
            }
            Ok(())
        }
    }
}

fn no_steps(r: &Kickstart) -> Error {
    Error::Layout {
        bundle: r.file.clone().into(),
        reason:
            "the partial kickstart has no `# cft-step: apply-module` script (not made by this cft?)"
                .into(),
    }
}

fn lines(text: &str) -> Vec<Line> {
    text.lines()
        .map(|t| Line {
            number: 0,
            text: t.to_string(),
        })
        .collect()
}

/// The masterless script's body with the class declared with values; the
/// manifest is written by a quoted here-document (no expansion), readable
/// by root only, and removed after the run.
fn apply_with_params(module: &str, values: &[(&Required, &str)]) -> String {
    let mut decl = format!("class {{ {}:\n", crate::puppet::quote(module));
    for (p, v) in values {
        let quoted = crate::puppet::quote(v);
        let value = if p.puppet_type.starts_with("Sensitive") {
            format!("Sensitive({quoted})")
        } else {
            quoted
        };
        decl.push_str(&format!("  {} => {value},\n", p.name));
    }
    decl.push_str("}\n");
    format!(
        "set -eu\n\
         PATH=/opt/puppetlabs/bin:$PATH\n\
         umask 077\n\
         cat > /root/cft-site.pp <<'CFT_SITE_EOF'\n\
         {decl}\
         CFT_SITE_EOF\n\
         rc=0\n\
         puppet apply --detailed-exitcodes --modulepath=/etc/puppet/code/modules /root/cft-site.pp || rc=$?\n\
         rm -f /root/cft-site.pp\n\
         if [ \"$rc\" -ne 0 ] && [ \"$rc\" -ne 2 ]; then\n    \
             echo \"cft: puppet apply of {module} failed (exit $rc)\" >&2\n    \
             exit 1\n\
         fi"
    )
}

/// The `%post` that hands the machine to a Puppet server.
fn agent_section(server: &Server, module: &str, needed: &[Required]) -> Section {
    let mut leading = vec![
        "# Hand the machine to the Puppet server: point the agent at it, converge".to_string(),
        format!("# once (the server classifies this node with '{module}'), and enable the"),
        "# agent so later versions of the recipe installed on the server reach".to_string(),
        "# this machine without re-provisioning.".to_string(),
    ];
    if !needed.is_empty() {
        let names: Vec<String> = needed
            .iter()
            .map(|p| format!("{module}::{}", p.name))
            .collect();
        leading.push(format!(
            "# The server's Hiera must set: {}.",
            names.join(", ")
        ));
    }
    let mut body = vec![
        "set -eu".to_string(),
        "PATH=/opt/puppetlabs/bin:$PATH".to_string(),
        format!("puppet config set --section main server {}", server.host),
        format!(
            "puppet config set --section main serverport {}",
            server.port
        ),
    ];
    if let Some(env) = &server.environment {
        body.push(format!(
            "puppet config set --section main environment {env}"
        ));
    }
    body.extend([
        "rc=0".to_string(),
        "puppet agent --test --waitforcert 60 || rc=$?".to_string(),
        "if [ \"$rc\" -ne 0 ] && [ \"$rc\" -ne 2 ]; then".to_string(),
        format!(
            "    echo \"cft: the first agent run against {}:{} failed (exit $rc)\" >&2",
            server.host, server.port
        ),
        "    exit 1".to_string(),
        "fi".to_string(),
        "systemctl enable puppet".to_string(),
    ]);
    let header = "%post --erroronfail --log=/root/cft-puppet-agent.log";
    Section {
        leading: std::iter::once(String::new())
            .chain(leading)
            .chain(std::iter::once(format!("{STEP}agent {module}")))
            .map(|text| Line { number: 0, text })
            .collect(),
        header: Line {
            number: 0,
            text: header.to_string(),
        },
        words: header.split(' ').map(str::to_string).collect(),
        body: body
            .into_iter()
            .map(|text| Line { number: 0, text })
            .collect(),
        end: Line {
            number: 0,
            text: "%end".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_parsed_and_checked() {
        let s = Server::parse("puppet.example.com", Some("production")).unwrap();
        assert_eq!((s.host.as_str(), s.port), ("puppet.example.com", 8140));
        let s = Server::parse("localhost:18140", None).unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.environment),
            ("localhost", 18140, None)
        );
        for bad in [
            "",
            "a b",
            "x:0",
            "x:70000",
            "x:",
            "-x",
            "$(id)",
            "a;b",
            "[::1]:8140",
            "x/y",
        ] {
            assert!(Server::parse(bad, None).is_err(), "{bad}");
        }
        assert!(Server::parse("x", Some("Prod")).is_err());
    }

    #[test]
    fn values_are_quoted_in_a_quoted_here_document() {
        let p = Required {
            name: "admin_password".into(),
            puppet_type: "Sensitive[String]".into(),
        };
        let text = apply_with_params("web", &[(&p, "$6$a'b\\c")]);
        assert!(text.contains("<<'CFT_SITE_EOF'"), "{text}");
        assert!(
            text.contains("  admin_password => Sensitive('$6$a\\'b\\\\c'),"),
            "{text}"
        );
    }
}
