//! The files and the summary of `eyesim prune`. Floats use fixed formats,
//! so identical inputs give identical bytes.

use super::{LayerPruning, LayerRank, MappingChoice, PrunePlan, StopReason, Verification};
use crate::stats::{Energy, Level};
use std::fmt::Write as _;

/// Header of `plan.csv`.
pub const PLAN_HEADER: [&str; 12] = [
    "step",
    "layer",
    "density_before",
    "density_after",
    "layer_energy_before",
    "layer_energy_after",
    "network_energy",
    "cumulative_reduction",
    "at_floor",
    "mapping",
    "mapping_choice",
    "energy_unit",
];

/// Header of `ranking.csv`.
pub const RANKING_HEADER: [&str; 8] = [
    "layer",
    "energy",
    "energy_rank",
    "weights",
    "weight_rank",
    "macs",
    "mac_rank",
    "energy_unit",
];

/// Header of `weights.csv`.
pub const WEIGHTS_HEADER: [&str; 9] = [
    "layer",
    "weights",
    "floor",
    "density_before",
    "planned_density",
    "density_after",
    "ofmap_rel_error",
    "energy_before",
    "energy_after",
];

fn e3(x: f64) -> String {
    format!("{x:.3}")
}

fn d6(x: f64) -> String {
    format!("{x:.6}")
}

fn to_csv<const N: usize>(header: [&str; N], rows: impl Iterator<Item = [String; N]>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("writing to memory");
    for row in rows {
        w.write_record(&row).expect("writing to memory");
    }
    w.into_inner().expect("flushing to memory")
}

/// `plan.csv`: one row per step; step 0 is the baseline.
pub fn plan_csv(plan: &PrunePlan) -> Vec<u8> {
    let unit = plan.hw.energy.unit.label().to_string();
    let base = plan.baseline_energy();
    let start = [
        "0".into(),
        "-".into(),
        "".into(),
        "".into(),
        "".into(),
        "".into(),
        e3(base),
        d6(1.0),
        "".into(),
        "".into(),
        "".into(),
        unit.clone(),
    ];
    let steps = plan.steps.iter().enumerate().map(|(k, s)| {
        [
            (k + 1).to_string(),
            s.name.clone(),
            d6(s.density_before),
            d6(s.density_after),
            e3(s.layer_energy_before),
            e3(s.layer_energy_after),
            e3(s.network_energy),
            d6(base / s.network_energy),
            s.at_floor.to_string(),
            s.mapping.summary(),
            match s.choice {
                MappingChoice::Searched => "searched",
                MappingChoice::Kept => "kept",
            }
            .into(),
            unit.clone(),
        ]
    });
    to_csv(PLAN_HEADER, std::iter::once(start).chain(steps))
}

/// `ranking.csv`: the layers with weights in network order, with their
/// ranks by baseline energy, weights and MACs (1 = largest).
pub fn ranking_csv(ranks: &[LayerRank], unit: &str) -> Vec<u8> {
    to_csv(
        RANKING_HEADER,
        ranks.iter().map(|r| {
            [
                r.layer.clone(),
                e3(r.energy),
                r.energy_rank.to_string(),
                r.weights.to_string(),
                r.weight_rank.to_string(),
                r.macs.to_string(),
                r.mac_rank.to_string(),
                unit.to_string(),
            ]
        }),
    )
}

/// `weights.csv`: per layer with weights, the planned and achieved
/// densities, the ofmap error of the pruned weights and the layer's
/// estimated energy before and after.
pub fn weights_csv(plan: &PrunePlan, rows: &[LayerPruning]) -> Vec<u8> {
    to_csv(
        WEIGHTS_HEADER,
        rows.iter().map(|r| {
            [
                r.layer.clone(),
                r.weights.to_string(),
                d6(plan.floors[r.index]),
                d6(r.density_before),
                d6(r.planned_density),
                d6(r.density_after),
                format!("{:.6e}", r.ofmap_error),
                e3(plan.baseline[r.index].energy.total()),
                e3(plan.last[r.index].energy.total()),
            ]
        }),
    )
}

/// Header of `verify.csv`.
pub const VERIFY_HEADER: [&str; 8] = [
    "layer",
    "stage",
    "weight_density",
    "analytic_energy",
    "simulated_energy",
    "rel_diff",
    "within_tolerance",
    "energy_unit",
];

/// `verify.csv`: per pruned layer, its baseline and pruned energy, analytic
/// and simulated.
pub fn verify_csv(v: &Verification, unit: &str) -> Vec<u8> {
    to_csv(
        VERIFY_HEADER,
        v.rows.iter().map(|r| {
            [
                r.layer.clone(),
                r.stage.name().into(),
                d6(r.density),
                e3(r.analytic),
                e3(r.simulated),
                format!("{:.6}", r.rel_diff()),
                r.within(v.tolerance).to_string(),
                unit.to_string(),
            ]
        }),
    )
}

/// The printed verification table and totals.
pub fn verify_summary(plan: &PrunePlan, v: &Verification) -> String {
    let mut s =
        String::from("\nverification (cycle-level simulator vs analytic, pruned layers):\n");
    let _ = writeln!(
        s,
        "{:<14} {:<9} {:>8} {:>12} {:>12} {:>8}",
        "layer", "stage", "density", "analytic", "simulated", "diff"
    );
    for r in &v.rows {
        let _ = writeln!(
            s,
            "{:<14} {:<9} {:>8.4} {:>12.4e} {:>12.4e} {:>7.2}%{}",
            r.layer,
            r.stage.name(),
            r.density,
            r.analytic,
            r.simulated,
            100.0 * r.rel_diff(),
            if r.within(v.tolerance) {
                ""
            } else {
                "  OUT OF TOLERANCE"
            }
        );
    }
    let _ = writeln!(
        s,
        "network energy, pruned layers simulated (others analytic, unchanged): \
         {:.4e} -> {:.4e}, reduction {:.3}x (analytic {:.3}x)",
        v.simulated_baseline(),
        v.simulated_final(),
        v.simulated_reduction(),
        plan.reduction()
    );
    s
}

/// The printed summary: energy per level before and after, the reduction,
/// the pruning order and the layers at their floors.
pub fn summary(plan: &PrunePlan) -> String {
    let mut s = String::new();
    let unit = plan.hw.energy.unit.label();
    if plan.enabled_weight_compression {
        let _ = writeln!(
            s,
            "note: `{}` has sparsity.weight_compression = false; pruning saves energy only \
             when zero weights are neither moved nor multiplied, so the plan uses a copy \
             with weight_compression = true",
            plan.hw.name
        );
    }
    let _ = writeln!(
        s,
        "{:<10} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "energy", "dram", "glb", "noc", "rf", "alu", "total"
    );
    let row = |s: &mut String, name: &str, e: &Energy| {
        let _ = write!(s, "{name:<10}");
        for l in [Level::Dram, Level::Glb, Level::Noc, Level::Rf, Level::Alu] {
            let _ = write!(s, " {:>12.4e}", e.level(l));
        }
        let _ = writeln!(s, " {:>12.4e}", e.total());
    };
    row(&mut s, "baseline", &plan.baseline_breakdown());
    row(&mut s, "pruned", &plan.final_breakdown());
    let _ = writeln!(s, "energy unit: {unit}");
    let outcome = match plan.stop {
        StopReason::TargetReached => "target reached",
        StopReason::AllAtFloor => "target NOT reached: every layer is at its floor",
    };
    let _ = writeln!(
        s,
        "reduction {:.3}x in {} steps (target {:.3}x: {outcome})",
        plan.reduction(),
        plan.steps.len(),
        plan.baseline_energy() / plan.target_energy
    );
    let name = |i: usize| plan.pruned.layers[i].name.clone();
    let order: Vec<String> = plan
        .pruning_order()
        .into_iter()
        .map(|i| {
            let steps = plan.steps.iter().filter(|st| st.layer == i).count();
            format!(
                "{} ({} steps, {:.4} -> {:.4})",
                name(i),
                steps,
                plan.original.layers[i].sparsity.weight_density,
                plan.pruned.layers[i].sparsity.weight_density
            )
        })
        .collect();
    let _ = writeln!(s, "pruning order: {}", list(&order));
    let floors: Vec<String> = plan.layers_at_floor().into_iter().map(name).collect();
    let _ = writeln!(s, "at their floors: {}", list(&floors));
    s
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}
