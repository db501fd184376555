//! Multicast tags of the global networks (GINs).
//!
//! Each GIN word carries a `(row, col)` tag. For a pass the controller
//! programs every X-bus with a row ID and every PE with a column ID; a
//! bus whose row ID differs from a word's row tag is gated, and on an
//! enabled bus only PEs whose column ID equals the col tag take the word.
//! Who receives a word is therefore decided by comparing IDs, never by
//! naming PEs: a wrong tag delivers the word to the wrong PEs (or none).
//!
//! eyesim's ID assignment: every PE of a destination class (the PEs that
//! need the same words, e.g. the same ifmap row of the same channels) gets
//! the class number as column ID, and every bus that hosts a PE of the pass
//! gets row ID [`ACTIVE_ROW`] (idle buses get [`IDLE_ROW`], so they are
//! gated for every word). The chip's own assignment packs IDs into fewer
//! bits; the delivery rule is the same.

/// Row ID of an X-bus that hosts at least one PE of the pass.
pub(crate) const ACTIVE_ROW: u16 = 1;
/// Row ID of an X-bus whose PEs are all idle in the pass.
pub(crate) const IDLE_ROW: u16 = 0;

/// The tag a GIN word carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tag {
    /// Compared with the X-bus row IDs.
    pub row: u16,
    /// Compared with the PE column IDs.
    pub col: u32,
}

/// One GIN's ID configuration for a pass, with the receivers of every
/// class's own tag found once by matching.
#[derive(Debug, Clone, Default)]
#[cfg_attr(test, derive(PartialEq))]
pub(crate) struct TagConfig {
    bus_row: Vec<u16>,
    pe_bus: Vec<u32>,
    pe_col: Vec<u32>,
    receivers: Vec<Vec<u32>>,
}

impl TagConfig {
    /// Programs IDs for PEs `k` on bus `pe_bus[k]` that belong to class
    /// `pe_class[k]` (`classes` classes), on an array of `buses` X-buses.
    pub(crate) fn new(buses: u32, pe_bus: Vec<u32>, pe_class: Vec<u32>, classes: u32) -> Self {
        let mut bus_row = vec![IDLE_ROW; buses as usize];
        for &b in &pe_bus {
            bus_row[b as usize] = ACTIVE_ROW;
        }
        let mut cfg = TagConfig {
            bus_row,
            pe_bus,
            pe_col: pe_class,
            receivers: vec![Vec::new(); classes as usize],
        };
        // What `matching` finds for every class's own tag, in one sweep over
        // the PEs instead of one per class (classes can be as many as PEs).
        // Every PE's bus has the active row ID (set just above), so the
        // column ID alone decides.
        for (k, &class) in cfg.pe_col.iter().enumerate() {
            if let Some(r) = cfg.receivers.get_mut(class as usize) {
                r.push(k as u32);
            }
        }
        cfg
    }

    /// The tag that addresses class `class`.
    #[inline]
    pub(crate) fn tag(&self, class: u32) -> Tag {
        Tag {
            row: ACTIVE_ROW,
            col: class,
        }
    }

    /// The tag a faulty controller attaches instead of `tag`: the next
    /// class's (or a column ID nobody has, when there is one class).
    pub(crate) fn wrong(&self, tag: Tag) -> Tag {
        let n = self.receivers.len() as u32;
        Tag {
            row: tag.row,
            col: if n > 1 { (tag.col + 1) % n } else { n },
        }
    }

    /// The PEs that take a word tagged `tag`.
    #[inline]
    pub(crate) fn receivers(&self, tag: Tag) -> std::borrow::Cow<'_, [u32]> {
        match self.receivers.get(tag.col as usize) {
            Some(r) if tag.row == ACTIVE_ROW => std::borrow::Cow::Borrowed(r),
            _ => std::borrow::Cow::Owned(self.matching(tag)),
        }
    }

    /// The multicast controllers' comparison, PE by PE.
    fn matching(&self, tag: Tag) -> Vec<u32> {
        (0..self.pe_col.len())
            .filter(|&k| {
                self.bus_row[self.pe_bus[k] as usize] == tag.row && self.pe_col[k] == tag.col
            })
            .map(|k| k as u32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_comparison_decides_who_receives() {
        // Four PEs on buses 0, 0, 2, 2 (bus 1 idle), classes 0, 1, 0, 1.
        let cfg = TagConfig::new(3, vec![0, 0, 2, 2], vec![0, 1, 0, 1], 2);
        assert_eq!(&*cfg.receivers(cfg.tag(0)), &[0, 2]);
        assert_eq!(&*cfg.receivers(cfg.tag(1)), &[1, 3]);
        assert_eq!(&*cfg.receivers(cfg.wrong(cfg.tag(0))), &[1, 3]);
        // The row part of the tag is compared too: a word tagged with the
        // idle row ID reaches no PE of the pass.
        let idle = Tag {
            row: IDLE_ROW,
            col: 0,
        };
        assert!(cfg.receivers(idle).is_empty());
        let one = TagConfig::new(1, vec![0], vec![0], 1);
        assert!(one.receivers(one.wrong(one.tag(0))).is_empty());
    }

    /// The receivers found once per pass are the ID comparison's for every
    /// class, including PEs whose class is out of range.
    #[test]
    fn the_receivers_of_every_class_are_the_comparisons() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u32| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % u64::from(n)) as u32
        };
        for _ in 0..50 {
            let (buses, pes, classes) = (1 + next(12), 1 + next(168), 1 + next(40));
            let bus: Vec<u32> = (0..pes).map(|_| next(buses)).collect();
            let class: Vec<u32> = (0..pes).map(|_| next(classes + 2)).collect();
            let cfg = TagConfig::new(buses, bus, class, classes);
            let mut found = 0;
            for c in 0..classes {
                let want = cfg.matching(cfg.tag(c));
                found += want.len();
                assert_eq!(&*cfg.receivers(cfg.tag(c)), &want[..], "class {c}");
            }
            let in_range = cfg.pe_col.iter().filter(|&&c| c < classes).count();
            assert_eq!(
                found, in_range,
                "every PE of a class is some class's receiver"
            );
        }
    }
}
