//! Reading `crosscheck.csv` back, so that `eyesim plot` can redraw the
//! parity plot of a `crosscheck` or `run` folder.

use super::{Comparison, Quantity};
use crate::stats::{Level, LEVELS, TENSORS};

const QUANTITIES: [Quantity; 6] = [
    Quantity::Reads,
    Quantity::Writes,
    Quantity::Macs,
    Quantity::Cycles,
    Quantity::ProcessingCycles,
    Quantity::Energy,
];

/// The network name and comparisons of a `crosscheck.csv`; `origin` names
/// the file in errors, which give the line.
pub fn read_crosscheck_csv(
    bytes: &[u8],
    origin: &str,
) -> Result<(String, Vec<Comparison>), String> {
    let mut rdr = csv::Reader::from_reader(bytes);
    let head = rdr.headers().map_err(|e| format!("{origin}: {e}"))?.clone();
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{origin}: no `{name}` column: not a crosscheck.csv"))
    };
    let cols = [
        "network",
        "layer",
        "level",
        "tensor",
        "quantity",
        "data",
        "analytic",
        "simulated",
        "tolerance",
    ]
    .map(col);
    let mut idx = [0usize; 9];
    for (i, c) in cols.into_iter().enumerate() {
        idx[i] = c?;
    }
    let mut network = String::new();
    let mut rows = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|e| format!("{origin}:{line}: {e}"))?;
        let field = |k: usize| rec.get(idx[k]).unwrap_or("");
        let bad = |what: &str, v: &str| format!("{origin}:{line}: bad {what} `{v}`");
        let level = known(
            field(2),
            LEVELS.iter().map(|l| l.name()).chain([Level::Alu.name()]),
        )
        .ok_or_else(|| bad("level", field(2)))?;
        let tensor = known(field(3), TENSORS.iter().map(|t| t.name()))
            .ok_or_else(|| bad("tensor", field(3)))?;
        let quantity = QUANTITIES
            .into_iter()
            .find(|q| q.name() == field(4))
            .ok_or_else(|| bad("quantity", field(4)))?;
        let num = |k: usize, what: &str| -> Result<f64, String> {
            field(k).parse::<f64>().map_err(|_| bad(what, field(k)))
        };
        network = field(0).to_string();
        rows.push(Comparison {
            layer: field(1).to_string(),
            level,
            tensor,
            quantity,
            dense: field(5) == "dense",
            analytic: num(6, "analytic value")?,
            simulated: num(7, "simulated value")?,
            tolerance: num(8, "tolerance")?,
        });
    }
    Ok((network, rows))
}

/// `v` as one of the static names, or `-`.
fn known(v: &str, names: impl Iterator<Item = &'static str>) -> Option<&'static str> {
    std::iter::once("-").chain(names).find(|&n| n == v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_crosscheck_csv_writes() {
        let rows = vec![
            Comparison {
                layer: "conv1".into(),
                level: "dram",
                tensor: "ifmap",
                quantity: Quantity::Reads,
                dense: true,
                analytic: 10.0,
                simulated: 11.0,
                tolerance: 0.05,
            },
            Comparison {
                layer: "conv1".into(),
                level: "-",
                tensor: "-",
                quantity: Quantity::ProcessingCycles,
                dense: false,
                analytic: 1.5e20,
                simulated: 2.0,
                tolerance: 0.1,
            },
        ];
        let bytes = super::super::crosscheck_csv("net", &rows);
        let (net, back) = read_crosscheck_csv(&bytes, "c.csv").unwrap();
        assert_eq!((net.as_str(), back), ("net", rows));
        let e = read_crosscheck_csv(b"a,b\n1,2\n", "c.csv").unwrap_err();
        assert!(e.contains("not a crosscheck.csv"), "{e}");
    }
}
