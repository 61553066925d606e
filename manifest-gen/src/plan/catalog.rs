//! What the manifests declare: the resources of each part with their
//! attribute values (before they are Puppet syntax), and the class
//! parameters. `render::manifests` turns this into text; nothing here
//! knows Puppet's syntax beyond the names of types and attributes.

use super::outcome::Uncaptured;
use super::Part;
use std::collections::BTreeSet;

/// Every resource and class parameter of the module.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    /// In output order within their part (files sorted by path bytes, so
    /// a parent directory comes before what it holds; the others by name).
    pub resources: Vec<Resource>,
    /// In declaration order: site values (by name), then withheld file
    /// contents (by path), then password hashes (by user).
    pub params: Vec<Param>,
}

impl Catalog {
    pub fn has_part(&self, part: Part) -> bool {
        self.resources.iter().any(|r| r.part == part)
    }

    pub fn in_part(&self, part: Part) -> impl Iterator<Item = &Resource> {
        self.resources.iter().filter(move |r| r.part == part)
    }

    /// Titles of the `file` resources, in output order.
    pub fn file_titles(&self) -> Vec<String> {
        self.resources
            .iter()
            .filter(|r| r.kind == "file")
            .map(|r| r.title.clone())
            .collect()
    }

    pub fn param(&self, id: &ParamId) -> Option<&Param> {
        self.params.iter().find(|p| p.id() == *id)
    }

    /// The parameter's name (empty for an unknown id, which `plan` never
    /// makes).
    pub fn param_name(&self, id: &ParamId) -> &str {
        self.param(id).map_or("", |p| p.name.as_str())
    }

    /// The parameters the resources of `part` use, mandatory ones first
    /// (puppet-lint's `parameter_order`), each group in declaration order.
    pub fn part_params(&self, part: Part) -> Vec<&Param> {
        let mut used: BTreeSet<ParamId> = BTreeSet::new();
        for r in self.in_part(part) {
            for (_, v) in &r.attrs {
                match v {
                    Value::Param(id) => {
                        used.insert(id.clone());
                    }
                    Value::Epp { params, .. } => used.extend(params.iter().cloned()),
                    _ => {}
                }
            }
        }
        self.ordered(|p| used.contains(&p.id()))
    }

    /// Every parameter, mandatory ones first.
    pub fn all_params(&self) -> Vec<&Param> {
        self.ordered(|_| true)
    }

    fn ordered(&self, keep: impl Fn(&Param) -> bool) -> Vec<&Param> {
        let mut v: Vec<(usize, &Param)> = self
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| keep(p))
            .collect();
        v.sort_by_key(|(i, p)| (p.default().is_some(), *i));
        v.into_iter().map(|(_, p)| p).collect()
    }

    /// Parts whose manifest embeds a secret (a password hash): written
    /// readable by the owner only.
    pub fn secret_parts(&self) -> BTreeSet<Part> {
        self.resources
            .iter()
            .filter(|r| {
                r.attrs
                    .iter()
                    .any(|(_, v)| matches!(v, Value::Sensitive(_)))
            })
            .map(|r| r.part)
            .collect()
    }
}

/// One resource: its type, title and attributes in order.
#[derive(Debug)]
pub(crate) struct Resource {
    pub part: Part,
    /// The Puppet resource type: `file`, `package`, `user`...
    pub kind: &'static str,
    pub title: String,
    pub attrs: Vec<(&'static str, Value)>,
}

/// An attribute value, before it is written as Puppet syntax.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// A bare word: `file`, `directory`, `absent`, `true`, `running`...
    Word(&'static str),
    /// User data; rendered as a single-quoted literal.
    Str(String),
    /// A file mode (permission bits).
    Mode(u32),
    /// A number (uid, gid).
    Int(u32),
    /// The value of a class parameter of the resource's class.
    Param(ParamId),
    /// `epp('<module>/<rel>', { name => $name, ... })`: the template at
    /// `rel` under `templates/`, given these parameters.
    Epp { rel: String, params: Vec<ParamId> },
    /// `puppet:///modules/<module>/<this path under files/>`.
    Source(String),
    /// `Sensitive('...')`: a secret embedded with secrets included.
    Sensitive(String),
    /// An array of string literals.
    Strs(Vec<String>),
    /// Commands as arrays of arguments (an exec's `unless`/`onlyif`): no
    /// shell ever parses a recorded value.
    Cmds(Vec<Vec<String>>),
    /// One reference (`Type['title']`) or an array of them.
    Refs(Vec<Ref>),
}

/// A resource reference: `File['/etc/x']`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ref {
    /// Capitalised type name: `File`, `Group`...
    pub kind: &'static str,
    pub title: String,
}

/// `Type['title']` references, sorted and without duplicates.
pub(crate) fn refs(kind: &'static str, titles: impl IntoIterator<Item = String>) -> Value {
    let set: BTreeSet<String> = titles.into_iter().collect();
    Value::Refs(set.into_iter().map(|title| Ref { kind, title }).collect())
}

/// Which parameter a value refers to: what it supplies, which never
/// changes, unlike its name (given once every parameter is known).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ParamId {
    /// The content of the secret file at this path.
    Content(Vec<u8>),
    /// The password hash of this user.
    Password(String),
    /// The site value of this name.
    Site(String),
}

/// A class parameter: a withheld secret (mandatory) or a site value (with
/// the recorded value as default).
#[derive(Debug)]
pub(crate) struct Param {
    /// Assigned once every parameter is known (names must not clash);
    /// a site value keeps the name it was given.
    pub name: String,
    pub supplies: Supplies,
}

/// What a parameter supplies, and why the module needs it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Supplies {
    /// The content of a secret file: withheld from the module, or not
    /// captured at all. Binary content is passed as `Binary`.
    Content {
        path: Vec<u8>,
        binary: bool,
        uncaptured: Option<Uncaptured>,
    },
    /// The password hash of a user whose password was set: withheld, or
    /// not recorded.
    Password { user: String, recorded: bool },
    /// A site value: the recorded literal, in the files at these paths.
    Site {
        literal: String,
        paths: Vec<Vec<u8>>,
    },
}

impl Param {
    pub fn id(&self) -> ParamId {
        match &self.supplies {
            Supplies::Content { path, .. } => ParamId::Content(path.clone()),
            Supplies::Password { user, .. } => ParamId::Password(user.clone()),
            Supplies::Site { .. } => ParamId::Site(self.name.clone()),
        }
    }

    /// The Puppet data type.
    pub fn puppet_type(&self) -> &'static str {
        match &self.supplies {
            Supplies::Content { binary: true, .. } => "Sensitive[Binary]",
            Supplies::Content { .. } | Supplies::Password { .. } => "Sensitive[String]",
            Supplies::Site { .. } => "String",
        }
    }

    /// The default value: the recorded literal of a site parameter.
    pub fn default(&self) -> Option<&str> {
        match &self.supplies {
            Supplies::Site { literal, .. } => Some(literal),
            _ => None,
        }
    }
}

/// What a parameter is for, for people: a path, or `user NAME`.
pub(crate) fn param_subject(p: &Param) -> String {
    match &p.supplies {
        Supplies::Content { path, .. } => recorder::model::display_path(path),
        Supplies::Password { user, .. } => {
            format!("user {}", recorder::model::display_path(user.as_bytes()))
        }
        Supplies::Site { paths, .. } => paths
            .iter()
            .map(|p| recorder::model::display_path(p))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
