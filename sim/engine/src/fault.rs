//! Fault injection: one transfer of one component is dropped, duplicated,
//! delayed, sent to the wrong tag, or has a bit flipped.
//!
//! A fault exists to prove that the bit-exact check sees the data path:
//! every value reaches its PE through the component that delivers it, so a
//! corrupted transfer must corrupt the ofmap (unless the data masks it, for
//! example a ReLU that clamps the corrupted psum to zero anyway), and a
//! delayed one must change only the timing.
//!
//! Faults corrupt the data, never the flow-control handshake: a dropped
//! word still returns its credit, so the receiver goes on and uses
//! whatever its storage holds. Streams received through FIFOs (ifmap and
//! filter words, psums) shift by the dropped or duplicated words; storage
//! written by address (the GLB, weights with weight compression) keeps its
//! stale value on a drop and is unchanged by a duplicate.

use std::fmt;
use std::str::FromStr;

/// What happens to the chosen transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The transfer never arrives.
    Drop,
    /// The transfer arrives twice.
    Duplicate,
    /// The transfer arrives this many cycles late (of the component's own
    /// clock: link cycles for the DRAM link, core cycles otherwise).
    Delay(u32),
    /// The transfer carries the tag of the next destination class (a GIN),
    /// or the address of the next chain's psums (the GON).
    WrongTag,
    /// This bit of the transfer's first word is inverted.
    Flip(u32),
}

/// The component whose transfer is faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultSite {
    /// A filter GIN send (up to `filter_gin_bits` of words, multicast along a PE row).
    FilterGin,
    /// One word multicast on the ifmap GIN.
    IfmapGin,
    /// One psum GIN transfer (a chain's psums of one column, GLB → bottom PE).
    PsumGin,
    /// One GON transfer (a chain's psums of one column, top PE → GLB).
    Gon,
    /// One hop of a psum column between vertically adjacent PEs.
    LocalLink,
    /// One DRAM burst (an ifmap tile, a pass's filters or an ofmap tile).
    Dram,
    /// One value leaving the RLC decoder on its way into the GLB.
    RlcDecode,
}

impl FaultSite {
    /// Every site, in the order `--help` lists them.
    pub const ALL: [FaultSite; 7] = [
        FaultSite::FilterGin,
        FaultSite::IfmapGin,
        FaultSite::PsumGin,
        FaultSite::Gon,
        FaultSite::LocalLink,
        FaultSite::Dram,
        FaultSite::RlcDecode,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FaultSite::FilterGin => "filter-gin",
            FaultSite::IfmapGin => "ifmap-gin",
            FaultSite::PsumGin => "psum-gin",
            FaultSite::Gon => "gon",
            FaultSite::LocalLink => "local-link",
            FaultSite::Dram => "dram",
            FaultSite::RlcDecode => "rlc-decode",
        }
    }

    /// Whether `kind` means something at this site.
    pub fn supports(self, kind: FaultKind) -> bool {
        match kind {
            FaultKind::WrongTag => matches!(
                self,
                FaultSite::FilterGin | FaultSite::IfmapGin | FaultSite::PsumGin | FaultSite::Gon
            ),
            FaultKind::Delay(_) => self != FaultSite::RlcDecode,
            _ => true,
        }
    }
}

impl fmt::Display for FaultSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Drop => f.write_str("drop"),
            FaultKind::Duplicate => f.write_str("dup"),
            FaultKind::Delay(c) => write!(f, "delay={c}"),
            FaultKind::WrongTag => f.write_str("tag"),
            FaultKind::Flip(b) => write!(f, "flip={b}"),
        }
    }
}

/// One injected fault: `kind` applied to the `nth` transfer (1-based, in
/// the order the component performs them within the layer) of `site`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// What happens.
    pub kind: FaultKind,
    /// Where.
    pub site: FaultSite,
    /// Which transfer of the site, from 1.
    pub nth: u64,
}

/// Cycles a `delay` without a value adds.
pub const DEFAULT_DELAY: u32 = 64;
/// Bit a `flip` without a value inverts (the sign bit of a 16-bit word).
pub const DEFAULT_FLIP_BIT: u32 = 15;

/// The kinds, with their syntax, for help texts.
pub const KIND_HELP: &str =
    "drop, dup, delay[=CYCLES] (default 64), tag (wrong tag; GINs and GON), \
flip[=BIT] (default 15)";

/// Why a fault specification does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--inject-fault '{spec}': {reason}")]
pub struct FaultSpecError {
    /// The text given.
    pub spec: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for Fault {
    type Err = FaultSpecError;

    /// Parses `KIND:COMPONENT[:N]`, e.g. `drop:ifmap-gin:1000`, `flip=3:gon:5`.
    fn from_str(spec: &str) -> Result<Fault, FaultSpecError> {
        let err = |reason: String| FaultSpecError {
            spec: spec.into(),
            reason,
        };
        let parts: Vec<&str> = spec.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(err("expected KIND:COMPONENT[:N]".into()));
        }
        let kind = parse_kind(parts[0]).map_err(err)?;
        let site = FaultSite::ALL
            .into_iter()
            .find(|s| s.name() == parts[1])
            .ok_or_else(|| {
                let names: Vec<_> = FaultSite::ALL.iter().map(|s| s.name()).collect();
                err(format!(
                    "unknown component '{}'; components: {}",
                    parts[1],
                    names.join(", ")
                ))
            })?;
        if !site.supports(kind) {
            return Err(err(format!("{kind} does not apply to {site}")));
        }
        let nth = match parts.get(2) {
            None => 1,
            Some(n) => match n.parse::<u64>() {
                Ok(n) if n >= 1 => n,
                _ => return Err(err(format!("N must be a whole number from 1, not '{n}'"))),
            },
        };
        Ok(Fault { kind, site, nth })
    }
}

fn parse_kind(text: &str) -> Result<FaultKind, String> {
    let (name, value) = match text.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (text, None),
    };
    let number = |what: &str, max: u32, default: u32| -> Result<u32, String> {
        match value {
            None => Ok(default),
            Some(v) => match v.parse::<u32>() {
                Ok(x) if x <= max => Ok(x),
                _ => Err(format!(
                    "{what} must be a whole number from 0 to {max}, not '{v}'"
                )),
            },
        }
    };
    let plain = |k: FaultKind| match value {
        None => Ok(k),
        Some(_) => Err(format!("'{name}' takes no value")),
    };
    match name {
        "drop" => plain(FaultKind::Drop),
        "dup" => plain(FaultKind::Duplicate),
        "tag" => plain(FaultKind::WrongTag),
        "delay" => Ok(FaultKind::Delay(number(
            "the delay",
            1_000_000,
            DEFAULT_DELAY,
        )?)),
        "flip" => Ok(FaultKind::Flip(number("the bit", 63, DEFAULT_FLIP_BIT)?)),
        _ => Err(format!("unknown kind '{name}'; kinds: {KIND_HELP}")),
    }
}

/// What became of the injected fault during a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultReport {
    /// The fault's transfer happened (the layer has at least `nth` of them).
    pub applied: bool,
    /// Transfers the site performed in the layer.
    pub transfers: u64,
}

/// Per-run fault state: counts the site's transfers and says when the
/// chosen one comes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Injector {
    fault: Option<Fault>,
    counts: [u64; 7],
    applied: bool,
}

impl Injector {
    pub(crate) fn new(fault: Option<Fault>) -> Self {
        Injector {
            fault,
            ..Injector::default()
        }
    }

    /// Whether a fault is to be injected at all.
    pub(crate) fn has_fault(&self) -> bool {
        self.fault.is_some()
    }

    /// Counts one transfer at `site`; returns the fault's kind if this is
    /// the chosen transfer.
    #[inline]
    pub(crate) fn next(&mut self, site: FaultSite) -> Option<FaultKind> {
        let i = site as usize;
        self.counts[i] += 1;
        match self.fault {
            Some(f) if f.site == site && f.nth == self.counts[i] => {
                self.applied = true;
                Some(f.kind)
            }
            _ => None,
        }
    }

    /// Counts `n` transfers at `site` that are known not to include the
    /// chosen one (the caller checked [`Injector::hits`]).
    #[inline]
    pub(crate) fn skip(&mut self, site: FaultSite, n: u64) {
        self.counts[site as usize] += n;
    }

    /// Whether the chosen transfer is among the next `n` of `site`.
    #[inline]
    pub(crate) fn hits(&self, site: FaultSite, n: u64) -> bool {
        match self.fault {
            Some(f) if f.site == site => {
                let c = self.counts[site as usize];
                f.nth > c && f.nth <= c + n
            }
            _ => false,
        }
    }

    pub(crate) fn report(&self) -> FaultReport {
        FaultReport {
            applied: self.applied,
            transfers: self.fault.map_or(0, |f| self.counts[f.site as usize]),
        }
    }
}

/// Inverts bit `bit` of a 16-bit word (bits above 15 wrap to 0..15).
#[inline]
pub(crate) fn flip16(v: i16, bit: u32) -> i16 {
    v ^ (1i16 << (bit % 16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_examples() {
        let f: Fault = "drop:ifmap-gin:1000".parse().unwrap();
        assert_eq!(
            f,
            Fault {
                kind: FaultKind::Drop,
                site: FaultSite::IfmapGin,
                nth: 1000
            }
        );
        let f: Fault = "flip:gon:5".parse().unwrap();
        assert_eq!(f.kind, FaultKind::Flip(DEFAULT_FLIP_BIT));
        let f: Fault = "delay=7:dram".parse().unwrap();
        assert_eq!((f.kind, f.nth), (FaultKind::Delay(7), 1));
    }

    #[test]
    fn rejects_what_does_not_apply() {
        for (spec, needle) in [
            ("tag:local-link:3", "does not apply"),
            ("delay:rlc-decode", "does not apply"),
            ("drop:nowhere", "components: filter-gin"),
            ("melt:gon", "kinds: drop"),
            ("drop:gon:0", "from 1"),
            ("flip=99:gon", "from 0 to 63"),
            ("drop", "KIND:COMPONENT"),
            ("drop=3:gon", "takes no value"),
        ] {
            let e = spec.parse::<Fault>().unwrap_err().to_string();
            assert!(e.contains(needle), "{spec}: {e}");
        }
    }

    #[test]
    fn injector_fires_once_at_the_chosen_transfer() {
        let f: Fault = "dup:gon:3".parse().unwrap();
        let mut inj = Injector::new(Some(f));
        assert_eq!(inj.next(FaultSite::Gon), None);
        assert_eq!(inj.next(FaultSite::PsumGin), None);
        assert!(!inj.hits(FaultSite::Gon, 1));
        assert_eq!(inj.next(FaultSite::Gon), None);
        assert!(inj.hits(FaultSite::Gon, 1));
        assert_eq!(inj.next(FaultSite::Gon), Some(FaultKind::Duplicate));
        assert_eq!(inj.next(FaultSite::Gon), None);
        assert_eq!(
            inj.report(),
            FaultReport {
                applied: true,
                transfers: 4
            }
        );
    }
}
