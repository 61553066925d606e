//! `cft descriptor`: the appliance outputs of a finished session (the
//! virt-image descriptor, a libvirt domain for one host, or the partial
//! kickstart), printed or written to a file. The decisions live in
//! `manifest_gen::descriptor` and `manifest_gen::kickstart`.

use crate::load::{finished, load_spec};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct DescriptorArgs {
    /// The finished session
    name: String,
    /// Write to FILE instead of stdout
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Appliance spec (TOML) overriding the recorded facts and defaults: name, version,
    /// release, label, description, arch, vcpu, memory_kib, features, interfaces, graphics,
    /// `[[disks]]` (mount, use, size, fstype); sizes take units ("4G", "512M"). Without it:
    /// 2 vCPUs, 1 GiB, system disks from their recorded usage (4 GiB for a root whose fstab
    /// lists none); the defaults taken are noted on stderr. Example: README, "The appliance
    /// spec"
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Write a libvirt domain for one host instead (needs --vm-name and --disk-dir)
    #[arg(long, requires_all = ["vm_name", "disk_dir"], conflicts_with = "kickstart")]
    libvirt: bool,
    /// Name of the libvirt domain
    #[arg(long, value_name = "N", requires = "libvirt")]
    vm_name: Option<String>,
    /// MAC address of the first interface (default: libvirt picks one)
    #[arg(long, value_name = "M", requires = "libvirt")]
    mac: Option<String>,
    /// Absolute directory holding the appliance's disk files on that host
    #[arg(long, value_name = "D", requires = "libvirt")]
    disk_dir: Option<PathBuf>,
    /// Write the partial kickstart instead (storage, packages, masterless Puppet run)
    #[arg(long)]
    kickstart: bool,
    /// Module whose class the kickstart applies [default: derived from the session name]
    #[arg(long, value_name = "NAME", requires = "kickstart")]
    module_name: Option<String>,
}

pub fn descriptor(db: &Path, args: &DescriptorArgs) -> Result<()> {
    let spec = load_spec(args.spec.as_deref())?;
    let store = recorder::Store::open_existing(db)?;
    let name = &args.name;
    let cs = finished(&store, name)?;
    let text = if args.libvirt {
        let (Some(vm), Some(dir)) = (&args.vm_name, &args.disk_dir) else {
            bail!("--libvirt needs --vm-name and --disk-dir");
        };
        manifest_gen::descriptor::libvirt_domain(&cs, &spec, vm, args.mac.as_deref(), dir)
    } else if args.kickstart {
        let module = args
            .module_name
            .clone()
            .unwrap_or_else(|| manifest_gen::default_module_name(name));
        // Its mandatory parameters, as a default module would have them.
        let opts = manifest_gen::ModuleOptions::new(module.clone());
        let generated = manifest_gen::generate(&cs, &store, &opts)
            .with_context(|| format!("cannot plan the module of session '{name}'"))?;
        manifest_gen::kickstart::partial(&cs, &spec, &module, &generated.report.parameters)
    } else {
        manifest_gen::descriptor::descriptor(&cs, &spec)
    }
    .with_context(|| format!("cannot describe the appliance of session '{name}'"))?;
    // The defaults taken go to stderr: stdout is the document.
    if let Ok(a) = manifest_gen::descriptor::appliance(&cs, &spec) {
        for n in &a.notes {
            eprintln!("note: {n}");
        }
    }
    if args.kickstart {
        if let Some(n) = manifest_gen::kickstart::installer_note(&cs) {
            eprintln!("note: {n}");
        }
    }
    match &args.output {
        Some(p) => crate::output::write_file(p, text.as_bytes(), 0o644)?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .context("cannot write to stdout")?,
    }
    Ok(())
}
