//! Why each change happened: every file, package, account and service
//! change attributed to the command (typed line or wrapped tool) during
//! which it happened, and the queries a reader of a session asks.

use super::intent::Intent;

/// What a change is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    File,
    Package,
    User,
    Group,
    Service,
}

impl Subject {
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::File => "file",
            Subject::Package => "package",
            Subject::User => "user",
            Subject::Group => "group",
            Subject::Service => "service",
        }
    }

    pub fn parse(s: &str) -> Option<Subject> {
        Some(match s {
            "file" => Subject::File,
            "package" => Subject::Package,
            "user" => Subject::User,
            "group" => Subject::Group,
            "service" => Subject::Service,
            _ => return None,
        })
    }
}

/// One change and the intent it happened during.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Attribution {
    pub subject: Subject,
    /// The path (files) or name (everything else).
    pub name: Vec<u8>,
    pub intent: i64,
}

/// The commands of a session and what each one changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Why {
    /// In the order they started (which is the order of their ids).
    pub intents: Vec<Intent>,
    /// Sorted by subject, then name.
    pub attributions: Vec<Attribution>,
}

impl Why {
    pub fn intent(&self, id: i64) -> Option<&Intent> {
        // Ids are given in the order intents start, so the list is sorted
        // by id (the store reads them so); a list built otherwise still works.
        match self.intents.binary_search_by_key(&id, |i| i.id) {
            Ok(k) => Some(&self.intents[k]),
            Err(_) => self.intents.iter().find(|i| i.id == id),
        }
    }

    /// The intent a change is attributed to.
    pub fn of(&self, subject: Subject, name: &[u8]) -> Option<&Intent> {
        let a = self
            .attributions
            .binary_search_by(|a| (a.subject, &a.name[..]).cmp(&(subject, name)))
            .ok()?;
        self.intent(self.attributions[a].intent)
    }

    /// The outermost intent enclosing `id` (itself at the top).
    pub fn top(&self, id: i64) -> Option<&Intent> {
        let mut cur = self.intent(id)?;
        let mut guard = 0;
        while let Some(p) = cur.parent.and_then(|p| self.intent(p)) {
            cur = p;
            guard += 1;
            if guard > 64 {
                break;
            }
        }
        Some(cur)
    }

    /// Commands typed or run at the top level, in order.
    pub fn top_level(&self) -> impl Iterator<Item = &Intent> {
        self.intents
            .iter()
            .filter(|i| i.parent.is_none_or(|p| self.intent(p).is_none()))
    }

    /// Every change attributed to `id` or to a command it ran.
    pub fn changes_of(&self, id: i64) -> Vec<&Attribution> {
        self.attributions
            .iter()
            .filter(|a| self.top_within(a.intent, id))
            .collect()
    }

    fn top_within(&self, mut cur: i64, id: i64) -> bool {
        for _ in 0..64 {
            if cur == id {
                return true;
            }
            match self.intent(cur).and_then(|i| i.parent) {
                Some(p) => cur = p,
                None => return false,
            }
        }
        false
    }
}
