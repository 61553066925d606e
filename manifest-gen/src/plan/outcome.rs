//! What became of each recorded change, as data: the resource it became
//! (and how), that another resource reproduces it, or why it is left out.
//! The planners decide; `render` words it for `README.md` and the report.
//! Nothing here is text for people.

use super::catalog::ParamId;
use super::Part;
use recorder::model::{
    AccountChangeKind, ChangeKind, Enable, EntryKind, Origin, PackageChange, Running,
};

/// Every outcome, by area.
#[derive(Debug, Default)]
pub(crate) struct Outcomes {
    pub files: FileOutcomes,
    pub packages: PackageOutcomes,
    pub accounts: AccountOutcomes,
    pub services: Vec<ServiceOutcome>,
    /// Alternatives and diversions, in that order.
    pub dpkg: Vec<DpkgOutcome>,
    /// Intent ids replayed as `exec` resources.
    pub replayed: Vec<i64>,
    pub not_expressed: NotExpressed,
}

/// The admin's file changes, and the file changes other resources express.
#[derive(Debug, Default)]
pub(crate) struct FileOutcomes {
    /// Sorted by path bytes; package sources and other files alike.
    pub changes: Vec<FileOutcome>,
    /// Changes of packages, account databases, services and dpkg's state:
    /// their resources reproduce them. Sorted by path bytes.
    pub elsewhere: Vec<(Origin, Vec<u8>)>,
    /// Commands rerun when managed files feed them.
    pub regenerated: Vec<Regeneration>,
}

/// One admin file change and what the module does about it.
#[derive(Debug)]
pub(crate) struct FileOutcome {
    /// `Sources` or `Files`.
    pub part: Part,
    pub path: Vec<u8>,
    pub change: ChangeKind,
    pub became: FileDecision,
}

/// What a file change became.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FileDecision {
    /// `ensure => absent`.
    Absent,
    /// `ensure => absent, force => true`: a directory with all below it.
    AbsentTree,
    /// Nothing of its own: the removal of this directory takes it along.
    RemovedWith(Vec<u8>),
    Directory,
    /// A symbolic link to this target.
    Link(String),
    /// Only the ownership or mode changed, and only they are managed.
    Metadata,
    /// Ownership and mode only: the content was not captured.
    Uncaptured,
    /// An empty file; `secret` when it is a secret shipped as it is.
    Empty {
        secret: bool,
    },
    /// Content shipped at `files/<rel>`; `secret` as for `Empty`.
    Shipped {
        rel: String,
        secret: bool,
    },
    /// An EPP template at `templates/<rel>` holding site parameters.
    Template {
        rel: String,
        params: Vec<ParamId>,
    },
    /// Content from a class parameter: a withheld secret.
    FromParam(ParamId),
}

/// Why the content of a file is not in the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Uncaptured {
    /// It could not be read when it was recorded.
    Unreadable,
    /// Over the capture cap: only its hash (and size) is known.
    HashOnly {
        size: u64,
    },
    MissingFromStore,
    /// The stored bytes are not the recorded ones.
    HashMismatch,
}

/// The admin's package changes.
#[derive(Debug, Default)]
pub(crate) struct PackageOutcomes {
    /// By name: the admin's packages and the version changes made for them.
    pub changes: Vec<PackageOutcome>,
    /// Package changes left to the package manager (dependencies).
    pub dependencies: usize,
    /// Upgrades or downgrades expressed as `ensure => installed`.
    pub unpinned: usize,
    /// The `exec` refreshing the package index when a source changes.
    pub index_refresh: Option<String>,
}

#[derive(Debug)]
pub(crate) struct PackageOutcome {
    pub change: PackageChange,
    pub became: PackageDecision,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PackageDecision {
    /// A `package` resource, marked held or not when `mark` says so.
    Managed { ensure: Ensure, mark: Option<bool> },
    /// A version change the package manager made for another package:
    /// listed so a reader sees it, no resource.
    ByPackageManager,
}

/// A package resource's `ensure`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ensure {
    Absent,
    Purged,
    /// Installed; for an upgrade or downgrade, whatever the version.
    Installed,
    /// An upgrade or downgrade expressed as installed, any version.
    AnyVersion,
    /// The recorded version, pinned.
    Pinned,
}

/// The admin's accounts, and those packages made.
#[derive(Debug, Default)]
pub(crate) struct AccountOutcomes {
    /// Groups by name, then users by name.
    pub changes: Vec<AccountOutcome>,
    /// Accounts a package's maintainer scripts made: the package makes
    /// them again. Groups, then users.
    pub by_package: Vec<PackagedAccount>,
}

#[derive(Debug)]
pub(crate) struct AccountOutcome {
    pub name: String,
    pub kind: AccountChangeKind,
    pub became: AccountDecision,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AccountDecision {
    GroupAbsent,
    GroupPresent { gid: u32 },
    UserAbsent,
    UserPresent(UserState),
}

/// What the module says about a present user.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UserState {
    pub uid: u32,
    pub primary: PrimaryGroup,
    /// The complete supplementary groups when managed (an empty list when
    /// the user left every group).
    pub groups: Option<Vec<String>>,
    pub creates_home: bool,
    pub password: Option<Password>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PrimaryGroup {
    /// A group this module makes, by name.
    Named(String),
    /// The recorded number, whoever names it.
    Gid(u32),
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Password {
    /// The hash is in the manifest (secrets included).
    Embedded,
    FromParam(ParamId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AccountKind {
    Group,
    User,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PackagedAccount {
    pub kind: AccountKind,
    pub name: String,
    pub package: String,
}

/// A `service` resource: what it manages.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ServiceOutcome {
    pub unit: String,
    pub enable: Option<Enable>,
    pub ensure: Option<Running>,
    /// The module's files it restarts for, in title order.
    pub restarts: Vec<String>,
}

/// dpkg's own state, changed by an `exec` of dpkg's tools.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DpkgOutcome {
    /// `update-alternatives --set` to `choice`, or `--auto` for `None`.
    Alternative {
        name: String,
        choice: Option<String>,
    },
    /// `dpkg-divert --add` (or `--remove`), moving the packaged file along
    /// when `renamed`.
    Diversion {
        from: String,
        to: String,
        added: bool,
        renamed: bool,
    },
}

/// A command rerun when the managed files that feed it change.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Regeneration {
    pub by: Regenerator,
    /// Titles of the managed files feeding it.
    pub files: Vec<String>,
}

/// The commands that remake what a file feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Regenerator {
    LocaleGen,
    NewAliases,
    Ldconfig,
    UpdateCaCertificates,
}

impl Regenerator {
    pub const ALL: [Regenerator; 4] = [
        Regenerator::LocaleGen,
        Regenerator::NewAliases,
        Regenerator::Ldconfig,
        Regenerator::UpdateCaCertificates,
    ];

    pub fn command(self) -> &'static str {
        match self {
            Regenerator::LocaleGen => "/usr/sbin/locale-gen",
            Regenerator::NewAliases => "/usr/bin/newaliases",
            Regenerator::Ldconfig => "/sbin/ldconfig",
            Regenerator::UpdateCaCertificates => "/usr/sbin/update-ca-certificates",
        }
    }

    /// The command's name without its directory.
    pub fn short(self) -> &'static str {
        let c = self.command();
        c.rsplit('/').next().unwrap_or(c)
    }

    /// The files and directories whose content it reads.
    pub fn inputs(self) -> &'static [&'static str] {
        match self {
            Regenerator::LocaleGen => &["/etc/locale.gen"],
            Regenerator::NewAliases => &["/etc/aliases"],
            Regenerator::Ldconfig => &["/etc/ld.so.conf", "/etc/ld.so.conf.d"],
            Regenerator::UpdateCaCertificates => &[
                "/etc/ca-certificates.conf",
                "/usr/local/share/ca-certificates",
            ],
        }
    }
}

/// What the module leaves out, or expresses only in part.
#[derive(Debug, Default)]
pub(crate) struct NotExpressed {
    /// Changes not in the module at all, in planning order.
    pub left_out: Vec<LeftOut>,
    /// Files managed without their content.
    pub partial: Vec<(Vec<u8>, Uncaptured)>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LeftOut {
    pub subject: Subject,
    pub reason: Reason,
}

/// What a left-out change was about.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Subject {
    Path(Vec<u8>),
    Package(String),
    Group(String),
    User(String),
    Service(String),
    Diversion(Vec<u8>),
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The user left it out (`--exclude`).
    Excluded,
    /// The change set has the same subject twice; the first one counts.
    ListedTwice,
    /// The path holds a NUL byte (a corrupt record).
    NulInPath,
    RelativePath,
    /// A path Puppet cannot name: not UTF-8.
    PathNotUtf8,
    NoLinkTarget,
    EmptyLinkTarget,
    LinkTargetNotUtf8(Vec<u8>),
    /// Only the ownership or mode of a special file changed.
    SpecialMetadata(EntryKind),
    /// A fifo, socket or device node was made.
    SpecialFile(EntryKind),
    /// An account whose state after the session was not recorded.
    NoStateAfter,
    /// A service whose enablement and running state did not change and
    /// none of whose files is in the module.
    NothingToManage,
    /// A diversion of a path that is not UTF-8.
    DiversionNotUtf8,
}
