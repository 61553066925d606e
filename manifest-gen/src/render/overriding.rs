//! The README's "Overriding a part" example: a site's own class that
//! declares the parts it keeps (with the values of their mandatory
//! parameters) and its replacement of one part, chained in the module's
//! order, and which kept parts refer to resources of the replaced one.
//! The example must compile as written (`tests/it/puppet_tools.rs`).

use super::readme::example;
use crate::plan::catalog::{Catalog, Value};
use crate::plan::Part;
use serde::Serialize;

/// How to override a part: which part the example replaces, and (when
/// the module has several parts) the example's declarations and chain.
#[derive(Serialize)]
pub(super) struct Overriding {
    replaced: String,
    /// Lines of the example class (a declaration may span several).
    contain: Vec<String>,
    chain: Vec<String>,
    /// The kept parts that refer to resources of the replaced one.
    refer: Option<String>,
    /// A kept part's parameter as a Hiera key: `web::accounts::x`.
    hiera: Option<String>,
}

/// The example for a module with `parts` (none without parts). The files
/// part is the one replaced when there is one, else the last.
pub(super) fn overriding(catalog: &Catalog, parts: &[Part], module: &str) -> Option<Overriding> {
    let replaced = parts
        .iter()
        .copied()
        .find(|p| *p == Part::Files)
        .or_else(|| parts.last().copied())?;
    // Resources of the replaced part that other parts refer to (a
    // service subscribing to a file): the replacement must declare them.
    let replaced_titles: Vec<(String, &str)> = catalog
        .in_part(replaced)
        .map(|r| (r.kind.to_string(), r.title.as_str()))
        .collect();
    let refers_to_replaced = |part: Part| {
        catalog.in_part(part).any(|r| {
            r.attrs.iter().any(|(_, v)| match v {
                Value::Refs(refs) => refs.iter().any(|x| {
                    replaced_titles
                        .iter()
                        .any(|(k, t)| k.eq_ignore_ascii_case(x.kind) && *t == x.title)
                }),
                _ => false,
            })
        })
    };
    let mut classes = Vec::new();
    let mut contain = Vec::new();
    let mut refer = Vec::new();
    let mut hiera = None;
    for &p in parts {
        if p == replaced {
            let class = format!("mysite::{}", p.name());
            contain.push(format!("contain {class}"));
            classes.push(class);
            continue;
        }
        let class = format!("{module}::{}", p.name());
        let params = catalog.part_params(p);
        // A site value: Hiera gives a Sensitive secret only with lookup_options.
        if let Some(site) = params.iter().find(|p| p.default().is_some()) {
            hiera.get_or_insert_with(|| format!("{class}::{}", site.name));
        }
        // Mandatory values passed in the example; defaults left to Hiera.
        let mandatory: Vec<_> = params.iter().filter(|p| p.default().is_none()).collect();
        if !mandatory.is_empty() {
            let width = mandatory.iter().map(|p| p.name.len()).max().unwrap_or(0);
            let mut decl = format!("class {{ '{class}':\n");
            for m in &mandatory {
                decl.push_str(&format!("      {:<width$} => {},\n", m.name, example(m)));
            }
            decl.push_str("    }");
            contain.push(decl);
        }
        contain.push(format!("contain {class}"));
        if refers_to_replaced(p) {
            refer.push(format!("`{class}`"));
        }
        classes.push(class);
    }
    let commands = format!("{module}::{}", Part::Commands.name());
    let chain = classes
        .iter()
        .filter(|c| **c != commands)
        .enumerate()
        .map(|(i, c)| {
            let arrow = if i == 0 { "" } else { "-> " };
            format!("{arrow}Class['{c}']")
        })
        .collect::<Vec<_>>();
    let refer = subject(&refer, "refers", "refer");
    Some(Overriding {
        replaced: format!("{module}::{}", replaced.name()),
        contain: if parts.len() > 1 { contain } else { Vec::new() },
        chain: if chain.len() > 1 { chain } else { Vec::new() },
        refer,
        hiera: if parts.len() > 1 { hiera } else { None },
    })
}

/// `A verb` / `A and B verb_plural`, or nothing for no names.
fn subject(names: &[String], verb: &str, verb_plural: &str) -> Option<String> {
    match names {
        [] => None,
        [one] => Some(format!("{one} {verb}")),
        many => Some(format!("{} {verb_plural}", many.join(" and "))),
    }
}
