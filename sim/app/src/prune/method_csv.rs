//! The CSV tables of `eyesim prune --net model.onnx` (see docs/outputs.md):
//! every step of every criterion, the per-layer densities, and one summary
//! row per criterion.

use super::method::{MethodRun, Snapshot};
use crate::workload::Network;

fn writer() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::new())
}

fn bytes(w: csv::Writer<Vec<u8>>) -> Vec<u8> {
    w.into_inner().expect("in-memory CSV")
}

/// `steps.csv`: one row per layer turn (step 0: the unpruned network).
pub fn steps_csv(runs: &[MethodRun], unit: &str) -> Vec<u8> {
    let mut w = writer();
    w.write_record([
        "criterion",
        "step",
        "layer",
        "weights",
        "density_before",
        "density_after",
        "ofmap_error_before_restoration",
        "ofmap_error_after_restoration",
        "val_top1_percent",
        &format!("network_energy_per_image_{unit}"),
        "energy_reduction",
        "densities_tried",
    ])
    .expect("in-memory CSV");
    for run in runs {
        let base = &run.baseline;
        let row0 = [
            run.criterion.name().to_string(),
            "0".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            format!("{:.2}", base.val_top1()),
            format!("{:.6e}", base.energy),
            "1.0000".into(),
            String::new(),
        ];
        w.write_record(&row0).expect("in-memory CSV");
        for (k, s) in run.steps.iter().enumerate() {
            let tried: Vec<String> = s
                .trials
                .iter()
                .map(|t| {
                    format!(
                        "{}:{:.2}{}",
                        t.density,
                        t.val_top1,
                        if t.accepted { "" } else { "x" }
                    )
                })
                .collect();
            w.write_record([
                run.criterion.name().to_string(),
                (k + 1).to_string(),
                s.name.clone(),
                s.weights.to_string(),
                format!("{:.4}", s.density_before),
                format!("{:.4}", s.density_after),
                format!("{:.4}", s.error_before),
                format!("{:.4}", s.error_after),
                format!("{:.2}", s.after.val_top1()),
                format!("{:.6e}", s.after.energy),
                format!("{:.4}", base.energy / s.after.energy),
                tried.join(" "),
            ])
            .expect("in-memory CSV");
        }
    }
    bytes(w)
}

/// `plan.csv`: per layer with weights, its final density under each criterion.
pub fn plan_csv(net: &Network, runs: &[MethodRun]) -> Vec<u8> {
    let mut w = writer();
    let mut header = vec!["layer".to_string(), "weights".to_string()];
    header.extend(
        runs.iter()
            .map(|r| format!("density_{}", r.criterion.name())),
    );
    w.write_record(&header).expect("in-memory CSV");
    for (i, l) in net.layers.iter().enumerate() {
        let Some(lw) = runs.first().and_then(|r| r.model.weights[i].as_ref()) else {
            continue;
        };
        let mut row = vec![l.name.clone(), lw.weights.len().to_string()];
        for r in runs {
            let v = &r.model.weights[i].as_ref().expect("same model").weights;
            let nz = v.iter().filter(|&&x| x != 0.0).count();
            row.push(format!("{:.4}", nz as f64 / v.len() as f64));
        }
        w.write_record(&row).expect("in-memory CSV");
    }
    bytes(w)
}

/// Test-split accuracy of one network, in percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestAccuracy {
    /// Top-1 hits.
    pub hits: usize,
    /// Images.
    pub images: usize,
}

impl TestAccuracy {
    /// Top-1 in percent.
    pub fn percent(&self) -> f64 {
        100.0 * self.hits as f64 / self.images.max(1) as f64
    }
}

/// `criteria.csv`: one row per criterion, plus the unpruned network.
pub fn criteria_csv(
    runs: &[(MethodRun, TestAccuracy)],
    baseline_test: TestAccuracy,
    unit: &str,
) -> Vec<u8> {
    let mut w = writer();
    w.write_record([
        "criterion",
        "weights_kept",
        "weight_density",
        "val_top1_percent",
        "test_top1_percent",
        &format!("energy_per_image_{unit}"),
        "energy_reduction",
    ])
    .expect("in-memory CSV");
    let row = |w: &mut csv::Writer<Vec<u8>>,
               name: &str,
               s: &Snapshot,
               kept: (usize, usize),
               t: TestAccuracy,
               red: f64| {
        w.write_record([
            name.to_string(),
            kept.0.to_string(),
            format!("{:.4}", kept.0 as f64 / kept.1.max(1) as f64),
            format!("{:.2}", s.val_top1()),
            format!("{:.2}", t.percent()),
            format!("{:.6e}", s.energy),
            format!("{red:.4}"),
        ])
        .expect("in-memory CSV");
    };
    if let Some((first, _)) = runs.first() {
        let total: usize = first
            .model
            .weights
            .iter()
            .flatten()
            .map(|l| l.weights.len())
            .sum();
        row(
            &mut w,
            "unpruned",
            &first.baseline,
            (total, total),
            baseline_test,
            1.0,
        );
    }
    for (r, t) in runs {
        let (kept, total) = kept(r);
        row(
            &mut w,
            r.criterion.name(),
            r.last(),
            (kept, total),
            *t,
            r.reduction(),
        );
    }
    bytes(w)
}

/// Non-zero and total weights of a run's final model.
pub fn kept(r: &MethodRun) -> (usize, usize) {
    let layers = r.model.weights.iter().flatten();
    layers.fold((0, 0), |(k, t), l| {
        (
            k + l.weights.iter().filter(|&&x| x != 0.0).count(),
            t + l.weights.len(),
        )
    })
}
