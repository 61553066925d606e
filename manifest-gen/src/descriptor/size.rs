//! Sizes in an appliance spec: a plain integer in the key's own unit (MiB
//! for a disk's `size`, KiB for `memory_kib`, as before units existed), or
//! a string with a binary unit (`"512M"`, `"4G"`, `"10GiB"`, `"1T"`).
//!
//! Every unit is binary (`K`/`KB`/`KiB` = 1024 bytes, `M`/`MB`/`MiB`,
//! `G`/`GB`/`GiB`, `T`/`TB`/`TiB`), matched without regard to case: disk
//! images and memory are counted in powers of two, and one meaning per
//! letter leaves nothing to guess. Whole numbers only (`"1536M"`, not
//! `"1.5G"`). A value is rounded up to the key's unit.

use serde::Deserialize;

/// A size as written in the spec, checked when the appliance is decided
/// (so the error can name the key).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Size {
    /// In the key's own unit.
    Plain(u64),
    /// A number and a unit: `"4G"`, `"512 MiB"`.
    Text(String),
}

impl From<u64> for Size {
    fn from(n: u64) -> Size {
        Size::Plain(n)
    }
}

impl Size {
    /// The size in units of `unit` bytes (1024 for KiB, 1 MiB for MiB),
    /// rounded up; a plain integer is taken as already in that unit.
    pub fn in_units(&self, unit: u64) -> Result<u64, String> {
        let text = match self {
            Size::Plain(n) => return Ok(*n),
            Size::Text(t) => t.trim(),
        };
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, suffix) = text.split_at(split);
        let bad = || {
            format!(
                "'{text}' is not a size: write a whole number and a unit, e.g. \"512M\", \"4G\", \"10GiB\" (binary units K, M, G, T), or a plain integer"
            )
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let scale: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" | "kib" => 1 << 10,
            "m" | "mb" | "mib" => 1 << 20,
            "g" | "gb" | "gib" => 1 << 30,
            "t" | "tb" | "tib" => 1 << 40,
            _ => return Err(bad()),
        };
        let bytes = n
            .checked_mul(scale)
            .ok_or_else(|| format!("'{text}' is too large"))?;
        Ok(bytes.div_ceil(unit.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn sizes_in_mib() {
        let cases: [(&str, Size, Result<u64, ()>); 14] = [
            ("plain keeps its unit", Size::Plain(4096), Ok(4096)),
            ("G", Size::Text("4G".into()), Ok(4096)),
            ("M", Size::Text("512M".into()), Ok(512)),
            ("GiB", Size::Text("10GiB".into()), Ok(10240)),
            ("GB is binary too", Size::Text("2GB".into()), Ok(2048)),
            (
                "lower case and a blank",
                Size::Text("1 gib".into()),
                Ok(1024),
            ),
            ("T", Size::Text("1T".into()), Ok(1 << 20)),
            ("K rounds up", Size::Text("1K".into()), Ok(1)),
            ("bytes round up", Size::Text("1048577".into()), Ok(2)),
            ("fraction", Size::Text("1.5G".into()), Err(())),
            ("no number", Size::Text("G".into()), Err(())),
            ("unknown unit", Size::Text("4X".into()), Err(())),
            ("negative", Size::Text("-4G".into()), Err(())),
            ("overflow", Size::Text("99999999999T".into()), Err(())),
        ];
        for (name, size, want) in cases {
            assert_eq!(size.in_units(MIB).map_err(|_| ()), want, "{name}");
        }
        assert_eq!(Size::Text("2G".into()).in_units(1024), Ok(2 << 20));
    }
}
