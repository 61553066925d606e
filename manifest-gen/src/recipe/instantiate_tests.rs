//! The merge rules of `instantiate`, one named case each.

use super::*;
use crate::recipe::{Apply, Server};

const RECIPE: &str = "\
# Storage
zerombr
clearpart --all --initlabel --drives=vda
ignoredisk --only-use=vda
reqpart
bootloader --location=mbr --boot-drive=vda
part / --fstype=ext4 --size=4000 --grow --ondisk=vda

%packages
@core
puppet
%end

# Install the module
%post --nochroot
echo recipe-copy
%end

%post
echo recipe-apply
%end
";

const SITE: &str = "\
lang en_US.UTF-8
keyboard --vckeymap=us --xlayouts=us
timezone Etc/UTC --utc
rootpw --lock
network --bootproto=dhcp --device=link --activate
reboot
";

fn ok(site: &str) -> String {
    merge(RECIPE, "partial.ks", site, "site.ks").unwrap_or_else(|e| panic!("{e}\n{site}"))
}

fn err(site: &str) -> String {
    merge(RECIPE, "partial.ks", site, "site.ks")
        .expect_err(site)
        .to_string()
}

#[test]
fn a_plain_site_merges_with_everything_in_order() {
    let out = ok(SITE);
    let pos = |s: &str| out.find(s).unwrap_or_else(|| panic!("no {s:?} in\n{out}"));
    assert!(
        pos("lang en_US.UTF-8") < pos("zerombr"),
        "site commands first"
    );
    assert!(pos("%packages") < pos("echo recipe-copy"));
    assert!(
        pos("echo recipe-copy") < pos("echo recipe-apply"),
        "recipe order kept"
    );
    assert!(
        out.contains("# Install the module\n%post --nochroot"),
        "{out}"
    );
    assert_eq!(out.matches("%end").count(), 3, "{out}");
}

#[test]
fn site_scripts_run_before_the_recipes() {
    let out = ok(&format!(
        "{SITE}%pre\necho site-pre\n%end\n%post\necho site-post\n%end\n"
    ));
    let pos = |s: &str| out.find(s).unwrap_or_else(|| panic!("no {s:?} in\n{out}"));
    assert!(pos("echo site-post") < pos("echo recipe-copy"), "{out}");
    assert!(pos("echo site-pre") < pos("echo site-post"), "{out}");
}

#[test]
fn package_lists_merge() {
    let out = ok(&format!(
        "{SITE}%packages --ignoremissing\nvim-enhanced\n# a comment\npuppet\n-firewalld\n%end\n"
    ));
    let start = out.find("\n%packages").expect("packages") + 1;
    let end = start + out[start..].find("%end").expect("end");
    assert_eq!(
        &out[start..end],
        "%packages --ignoremissing\n@core\npuppet\nvim-enhanced\n# a comment\n-firewalld\n"
    );
}

#[test]
fn an_identical_single_command_is_written_once() {
    let recipe = format!("text\n{RECIPE}");
    let out = merge(&recipe, "partial.ks", &format!("{SITE}text\n"), "site.ks").expect("merges");
    assert_eq!(out.lines().filter(|l| *l == "text").count(), 1, "{out}");
}

#[test]
fn conflicts_are_refused_naming_both_lines() {
    let recipe = format!("timezone UTC\nurl --url=http://a/\n{RECIPE}");
    // The site without its timezone: the added line is line 6.
    let site = SITE.replace("timezone Etc/UTC --utc\n", "");
    let cases = [
        (
            "same command, two values",
            "timezone Europe/Paris\n",
            "conflicting `timezone`",
            [
                "partial.ks line 1: `timezone UTC`",
                "site.ks line 6: `timezone Europe/Paris`",
            ],
        ),
        (
            "two installation sources",
            "timezone UTC\ncdrom\n",
            "conflicting `installation source`",
            [
                "partial.ks line 2: `url --url=http://a/`",
                "site.ks line 7: `cdrom`",
            ],
        ),
    ];
    for (name, extra, directive, lines) in cases {
        let e = merge(&recipe, "partial.ks", &format!("{site}{extra}"), "site.ks")
            .expect_err(name)
            .to_string();
        assert!(e.contains(directive), "{name}: {e}");
        for l in lines {
            assert!(e.contains(l), "{name}: {l} not in {e}");
        }
    }
}

#[test]
fn site_storage_is_refused() {
    let cases = [
        (
            "bootloader",
            "bootloader --location=none\n",
            "partial.ks line 6",
        ),
        (
            "same mount point",
            "part / --size=100\n",
            "partial.ks line 7",
        ),
        ("clearpart", "clearpart --none\n", "partial.ks line 3"),
        ("partition alias", "partition / --size=100\n", "`part /`"),
        ("autopart", "autopart\n", "remove `autopart`"),
        (
            "another mount point",
            "part /home --size=100\n",
            "remove `part /home`",
        ),
        (
            "logvol",
            "logvol / --vgname=v --name=r\n",
            "remove `logvol /`",
        ),
    ];
    for (name, line, want) in cases {
        let e = err(&format!("{SITE}{line}"));
        assert!(e.contains(want), "{name}: {e}");
        assert!(e.contains("site.ks line 7"), "{name}: {e}");
    }
}

#[test]
fn package_conflicts_are_refused() {
    let cases = [
        (
            "excluding what the recipe installs",
            "-puppet\n",
            "`%packages puppet`",
        ),
        ("excluding a group", "-@core\n", "`%packages @core`"),
    ];
    for (name, body, want) in cases {
        let e = err(&format!("{SITE}%packages\n{body}%end\n"));
        assert!(e.contains(want), "{name}: {e}");
        assert!(
            e.contains("partial.ks line") && e.contains("site.ks line 8"),
            "{name}: {e}"
        );
    }
    let recipe = RECIPE.replace("@core\n", "@^minimal-environment\n");
    let e = merge(
        &recipe,
        "r.ks",
        &format!("{SITE}%packages\n@^server\n%end\n"),
        "s.ks",
    )
    .expect_err("two environments")
    .to_string();
    assert!(e.contains("environment"), "{e}");
    let recipe = RECIPE.replace("%packages\n", "%packages --timeout=5\n");
    let e = merge(
        &recipe,
        "r.ks",
        &format!("{SITE}%packages --timeout 9\n%end\n"),
        "s.ks",
    )
    .expect_err("option values")
    .to_string();
    assert!(e.contains("`%packages --timeout`"), "{e}");
}

#[test]
fn incomplete_results_are_refused() {
    let e = err("lang en_US.UTF-8\n");
    assert!(
        e.contains("keyboard, timezone, rootpw") && e.contains("site.ks"),
        "{e}"
    );
    let e = merge("zerombr\n", "r.ks", SITE, "s.ks")
        .expect_err("no layout")
        .to_string();
    assert!(
        e.contains("storage layout") && e.contains("bootloader") && e.contains("%packages"),
        "{e}"
    );
}

#[test]
fn one_file_setting_a_command_twice_is_refused() {
    let e = err(&format!("{SITE}lang de_DE.UTF-8\n"));
    assert!(e.contains("site.ks line 7") && e.contains("line 1"), "{e}");
}

#[test]
fn repeatable_commands_come_from_both() {
    let recipe = format!("network --hostname=app\n{RECIPE}");
    let out = merge(&recipe, "r.ks", SITE, "s.ks").expect("merges");
    assert!(out.contains("network --bootproto=dhcp") && out.contains("network --hostname=app"));
}

#[test]
fn addon_sections_of_the_same_name_conflict() {
    let recipe = format!("{RECIPE}%addon com_redhat_kdump --disable\n%end\n");
    let e = merge(
        &recipe,
        "r.ks",
        &format!("{SITE}%addon com_redhat_kdump --enable\n%end\n"),
        "s.ks",
    )
    .expect_err("addon")
    .to_string();
    assert!(e.contains("%addon com_redhat_kdump"), "{e}");
    let other = format!("{SITE}%addon org_fedora_oscap\n%end\n");
    assert!(merge(&recipe, "r.ks", &other, "s.ks").is_ok());
}

#[test]
fn holds_password_cases() {
    let cases = [
        ("locked root", "rootpw --lock\n", false),
        ("crypted root", "rootpw --iscrypted $6$s$h\n", true),
        ("plain root", "rootpw --plaintext pw\n", true),
        ("bare root", "rootpw pw\n", true),
        ("ssh password", "sshpw --username=u pw\n", true),
        ("user with a password", "user --name=u --password=x\n", true),
        ("user without", "user --name=u\n", false),
        ("boot loader password", "bootloader --password=x\n", true),
        ("no password", "lang en_US\n", false),
        ("does not parse", "%post\nno end\n", true),
    ];
    for (name, text, want) in cases {
        assert_eq!(holds_password(text), want, "{name}");
    }
}

/// A partial kickstart as `kickstart::partial` makes it for a class with
/// one mandatory parameter.
const TAGGED: &str = "\
bootloader --location=mbr --boot-drive=vda
part / --fstype=ext4 --size=4000 --grow --ondisk=vda

# cft-requires admin_password Sensitive[String]

%packages
@core
puppet
%end

# cft-step: copy-module web
%post --nochroot
echo recipe-copy
%end

# cft-step: apply-module web
%post
puppet apply -e 'include web'
%end
";

fn with(site: &str, apply: &Apply) -> Result<String, Error> {
    merge_with(TAGGED, "partial.ks", site, "site.ks", apply)
}

#[test]
fn masterless_needs_every_mandatory_parameter_from_the_site() {
    let err = with(SITE, &Apply::Masterless).unwrap_err().to_string();
    assert!(
        err.contains("admin_password") && err.contains("site.ks") && err.contains("# cft-param"),
        "{err}"
    );
    let typo = format!("{SITE}# cft-param admin_pasword=x\n");
    let err = with(&typo, &Apply::Masterless).unwrap_err().to_string();
    assert!(
        err.contains("site.ks line 7") && err.contains("it has: admin_password"),
        "{err}"
    );
    let site = format!("{SITE}# cft-param admin_password=$6$salt$h'ash\n");
    let out = with(&site, &Apply::Masterless).unwrap();
    assert!(
        out.contains("  admin_password => Sensitive('$6$salt$h\\'ash'),"),
        "{out}"
    );
    assert!(
        !out.contains("include web"),
        "the class is declared instead:\n{out}"
    );
    assert!(out.contains("echo recipe-copy"), "{out}");
    assert!(
        !out.contains("# cft-param"),
        "the value is written once, in the script:\n{out}"
    );
    assert!(holds_password(&out), "the result is private");
}

#[test]
fn a_server_replaces_the_recipes_scripts_and_keeps_parameters_out() {
    let server = Apply::Server(Server::parse("puppet.example.com:8141", Some("prod")).unwrap());
    let out = with(SITE, &server).unwrap();
    for gone in [
        "echo recipe-copy",
        "puppet apply",
        "# cft-step: apply-module",
    ] {
        assert!(!out.contains(gone), "{gone}:\n{out}");
    }
    for kept in [
        "puppet config set --section main server puppet.example.com",
        "puppet config set --section main serverport 8141",
        "puppet config set --section main environment prod",
        "puppet agent --test --waitforcert 60 || rc=$?",
        "systemctl enable puppet",
        "# The server's Hiera must set: web::admin_password.",
        "hands the machine to the Puppet server\n# puppet.example.com:8141 (environment prod).",
    ] {
        assert!(out.contains(kept), "{kept}:\n{out}");
    }
    assert!(!holds_password(&out));
    let site = format!("{SITE}# cft-param admin_password=x\n");
    let err = with(&site, &server).unwrap_err().to_string();
    assert!(
        err.contains("site.ks line 7") && err.contains("Hiera"),
        "{err}"
    );
    // Values are the site's, never the recipe's.
    let planted = TAGGED.replace("%packages", "# cft-param admin_password=x\n%packages");
    for apply in [&server, &Apply::Masterless] {
        let err = merge_with(&planted, "partial.ks", SITE, "site.ks", apply)
            .unwrap_err()
            .to_string();
        assert!(err.contains("partial.ks line 6"), "{err}");
    }
    // A partial kickstart without cft's scripts cannot be switched.
    let err = merge_with(RECIPE, "partial.ks", SITE, "site.ks", &server)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cft-step"), "{err}");
}
