//! Optional event trace: busy spans of passes, PEs, networks and the DRAM
//! link, exportable as Chrome/Perfetto trace JSON.

use super::plan::{chunks, StripRows};
use crate::mapping::RowStationaryMapping;
use crate::workload::ConvProblem;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write as _;

/// The hardware unit a span belongs to (one trace row each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Track {
    /// The top controller (one span per processing pass).
    Controller,
    /// The off-chip link.
    Dram,
    /// Ifmap global input network.
    IfmapGin,
    /// Filter global input network.
    FilterGin,
    /// Psum global input network.
    PsumGin,
    /// Global output network.
    Gon,
    /// A PE at (array row, array column).
    Pe(u32, u32),
}

impl Track {
    fn id(self) -> u32 {
        match self {
            Track::Controller => 0,
            Track::Dram => 1,
            Track::IfmapGin => 2,
            Track::FilterGin => 3,
            Track::PsumGin => 4,
            Track::Gon => 5,
            Track::Pe(r, c) => 100 + r * 1000 + c,
        }
    }
    fn label(self) -> String {
        match self {
            Track::Pe(r, c) => format!("PE ({r},{c})"),
            other => format!("{other:?}"),
        }
    }
}

/// A busy interval `[start, end)` in core cycles of the chip timeline
/// (DRAM serialization included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TraceSpan {
    /// Unit.
    pub track: Track,
    /// What it was doing.
    pub name: &'static str,
    /// First cycle.
    pub start: u64,
    /// Cycle after the last.
    pub end: u64,
}

/// Bytes one span takes in the JSON output (measured: about 58 on AlexNet
/// CONV3; 64 leaves room for longer timestamps).
pub const BYTES_PER_SPAN: u64 = 64;

/// Collects spans; a span that starts where the previous one of the same
/// unit and name ended extends it (keeps traces small).
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    pub spans: Vec<TraceSpan>,
    /// Offset added to processing time to get chip time (serialized DRAM so far).
    pub offset: u64,
    last: HashMap<(Track, &'static str), usize>,
}

impl Recorder {
    pub(crate) fn span(&mut self, track: Track, name: &'static str, start: u64, end: u64) {
        if end <= start {
            return;
        }
        let (start, end) = (start + self.offset, end + self.offset);
        if let Some(&i) = self.last.get(&(track, name)) {
            let l = &mut self.spans[i];
            if l.end >= start && l.start <= start {
                l.end = l.end.max(end);
                return;
            }
        }
        self.last.insert((track, name), self.spans.len());
        self.spans.push(TraceSpan {
            track,
            name,
            start,
            end,
        });
    }
}

/// An upper bound on the spans a simulation of `prob` under `map` records
/// (before merging): per pass one controller, one filter and one DRAM span,
/// per ofmap column each PE's taps, each ifmap row send and each chain's
/// psum GIN and GON transfers; plus the tile loads and write-backs.
pub fn span_bound(prob: &ConvProblem, map: &RowStationaryMapping) -> u64 {
    if map.fw > 1 {
        // Column tiles run as layers of their own (a count the layer
        // cannot take does not run: bound it as the untiled layer).
        return match prob.column_tiles(map.fw) {
            Some(tiles) => tiles
                .iter()
                .map(|t| span_bound(&t.prob, &map.untiled()))
                .sum(),
            None => span_bound(prob, &map.untiled()),
        };
    }
    let mut spans = 0u64;
    for (_, gs) in chunks(prob.g, map.g) {
        for (_, ns) in chunks(prob.n, map.n) {
            for (e0, es) in chunks(prob.e, map.e) {
                // The whole filter's rows bound every fold's.
                let rows = u64::from(StripRows::new(prob, e0, es, (0, prob.r)).needed());
                let tiles = u64::from(map.fr) * u64::from(map.fs);
                for (_, ms) in chunks(prob.m, map.m) {
                    for (_, cs) in chunks(prob.c, map.q * map.r) {
                        spans += u64::from(map.fr);
                        for (_, pts) in chunks(ms, map.p * map.t) {
                            let r_act = u64::from(cs.div_ceil(map.q));
                            let t_act = u64::from(pts.div_ceil(map.p));
                            let pes = u64::from(gs) * r_act * t_act * u64::from(prob.r * es);
                            let chains = u64::from(gs) * t_act * u64::from(es);
                            let steps = u64::from(ns * prob.f);
                            spans += tiles * (3 + steps * (pes + rows + 2 * chains));
                        }
                    }
                    spans += 1;
                }
            }
        }
    }
    spans
}

/// Merges back-to-back spans of the same unit and name (keeps traces small).
pub(crate) fn merge_spans(spans: &mut Vec<TraceSpan>) {
    spans.sort_by_key(|s| (s.track, s.start));
    let mut out: Vec<TraceSpan> = Vec::with_capacity(spans.len());
    for s in spans.drain(..) {
        match out.last_mut() {
            Some(l) if l.track == s.track && l.name == s.name && l.end >= s.start => {
                l.end = l.end.max(s.end)
            }
            _ => out.push(s),
        }
    }
    *spans = out;
}

/// Chrome/Perfetto trace JSON for the spans of several layers: one process
/// per layer, one thread per unit, timestamps in microseconds of core time.
pub fn chrome_trace(layers: &[(&str, &[TraceSpan])], core_mhz: f64) -> Value {
    let mut bytes = Vec::new();
    write_chrome_trace(&mut bytes, layers, core_mhz).expect("writing to memory cannot fail");
    serde_json::from_slice(&bytes).expect("the writer emits valid JSON")
}

/// Streams the Chrome/Perfetto trace JSON of `layers` into `out`, one event
/// at a time (no document tree is built, so memory stays at the spans'),
/// and returns the bytes written.
pub fn write_chrome_trace(
    out: &mut dyn std::io::Write,
    layers: &[(&str, &[TraceSpan])],
    core_mhz: f64,
) -> std::io::Result<u64> {
    let mut w = CountingWriter {
        inner: out,
        bytes: 0,
    };
    w.write_all(b"{\"traceEvents\":[")?;
    let mut first = true;
    let mut event = |w: &mut CountingWriter, v: Value| -> std::io::Result<()> {
        if !std::mem::take(&mut first) {
            w.write_all(b",")?;
        }
        serde_json::to_writer(&mut *w, &v).map_err(std::io::Error::other)
    };
    for (pid, (name, spans)) in layers.iter().enumerate() {
        event(
            &mut w,
            json!({"ph": "M", "name": "process_name", "pid": pid, "args": {"name": name}}),
        )?;
        let mut tracks: Vec<Track> = spans.iter().map(|s| s.track).collect();
        tracks.sort();
        tracks.dedup();
        for t in tracks {
            event(
                &mut w,
                json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": t.id(),
                "args": {"name": t.label()}}),
            )?;
        }
        for s in spans.iter() {
            event(
                &mut w,
                json!({"ph": "X", "name": s.name, "pid": pid, "tid": s.track.id(),
                "ts": s.start as f64 / core_mhz, "dur": (s.end - s.start) as f64 / core_mhz}),
            )?;
        }
    }
    w.write_all(b"],\"displayTimeUnit\":\"ns\"}")?;
    Ok(w.bytes)
}

/// Counts what passes through to `inner`.
struct CountingWriter<'a> {
    inner: &'a mut dyn std::io::Write,
    bytes: u64,
}

impl std::io::Write for CountingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
