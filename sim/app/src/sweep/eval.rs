//! Turning a point into a hwconfig and network, and evaluating them.
//!
//! Every point starts from the same [`HwSource`]; its values are applied as
//! overrides and the result is validated exactly like a hwconfig file, so
//! an invalid combination (e.g. a GLB too small for its filter part) is
//! reported with the validator's own message.

use super::plan::{Point, SweepPlan, BATCH_KEY};
use super::rows::{PointOutcome, PointResult};
use super::{ParamSpace, PointEvaluator, SweepError};
use crate::hw::{self, HwConfig, HwSource};
use crate::stats::LayerResult;
use crate::workload::{self, Network};

/// Legal batch sizes of a sweep.
pub const BATCH_RANGE: hw::KeyRange = hw::KeyRange {
    key: BATCH_KEY,
    integer: true,
    min: 1.0,
    max: 1e6,
    unit: "images",
};

/// Every parameter a sweep can vary: `batch`, then [`hw::NUMERIC_KEYS`],
/// each with its documented range ([`hw::RANGES`]).
pub fn param_space() -> ParamSpace {
    ParamSpace::new(
        std::iter::once((BATCH_KEY.to_string(), true)).chain(
            hw::NUMERIC_KEYS
                .iter()
                .map(|k| (k.to_string(), hw::is_integer_key(k))),
        ),
    )
    .with_ranges(std::iter::once(BATCH_RANGE).chain(hw::RANGES.iter().copied()))
}

/// The fixed part of a sweep: the base hwconfig and network.
#[derive(Debug, Clone)]
pub struct SweepBase {
    /// The hwconfig text every point overrides.
    pub source: HwSource,
    /// The base hwconfig, validated.
    pub hw: HwConfig,
    /// The network; `batch` points replace its batch size.
    pub network: Network,
    /// The evaluator and its options, e.g. `analytic objective=energy`.
    pub model: String,
}

impl SweepBase {
    /// The text that identifies this base in the sweep fingerprint: the
    /// network as a trace, the base config, the model and eyesim's version.
    pub fn identity(&self) -> String {
        format!(
            "eyesim {}\nmodel: {}\nhw: {}\nnetwork:\n{}",
            env!("CARGO_PKG_VERSION"),
            self.model,
            serde_json::to_string(&self.hw).expect("HwConfig serializes"),
            workload::to_trace_toml(&self.network)
        )
    }

    /// Roughly how many bytes the sweep's CSVs take: 13 `sweep.csv` rows
    /// per layer (levels × tensors, plus the MAC row) and one summary row
    /// per point, each with the point's values in front. For warnings.
    pub fn projected_bytes(&self, plan: &SweepPlan) -> u64 {
        if plan.is_empty() {
            return 0;
        }
        let prefix = plan.csv_prefix(&plan.point(0)).len() as u64;
        let net = self.network.name.len() as u64;
        let layers: u64 = self
            .network
            .layers
            .iter()
            .map(|l| 13 * (prefix + net + l.name.len() as u64 + 50))
            .sum();
        let summary = prefix + 200 + 40 * self.network.layers.len() as u64;
        (layers + summary).saturating_mul(plan.len() as u64)
    }

    /// `alexnet on eyeriss-v1 (analytic objective=energy)`.
    pub fn description(&self) -> String {
        format!("{} on {} ({})", self.network.name, self.hw.name, self.model)
    }

    /// The hwconfig and network of `point`, or why the point is invalid.
    pub fn instantiate(
        &self,
        plan: &SweepPlan,
        point: &Point,
    ) -> Result<(HwConfig, Network), String> {
        let mut source = self.source.clone();
        let mut network = None;
        for (axis, &v) in plan.axes.iter().zip(&point.values) {
            if axis.key == BATCH_KEY {
                if !(1.0..=f64::from(u32::MAX)).contains(&v) {
                    return Err(format!("batch = {v}: must be at least 1"));
                }
                let mut n = self.network.clone();
                n.batch = v as u32;
                network = Some(n);
            } else {
                source = source
                    .with_override(&axis.key, v)
                    .map_err(|e| e.to_string())?;
            }
        }
        // Several problems go on one line: the reason is one CSV field.
        let hw = source
            .validate()
            .map_err(|e| e.to_string().replace('\n', "; "))?;
        Ok((hw, network.unwrap_or_else(|| self.network.clone())))
    }
}

/// Evaluates points by instantiating them and calling `estimate` (the
/// analytic model, or the simulator) on the whole network.
pub struct NetworkEvaluator<'a, F> {
    /// The sweep's points.
    pub plan: &'a SweepPlan,
    /// The fixed part.
    pub base: &'a SweepBase,
    /// Evaluates every layer of a network on a config.
    pub estimate: F,
}

impl<F> PointEvaluator for NetworkEvaluator<'_, F>
where
    F: Fn(&Network, &HwConfig) -> Result<Vec<LayerResult>, String> + Sync,
{
    fn evaluate(&self, point: &Point) -> PointOutcome {
        let (hw, network) = match self.base.instantiate(self.plan, point) {
            Ok(x) => x,
            Err(reason) => return PointOutcome::Invalid(reason),
        };
        match (self.estimate)(&network, &hw) {
            Ok(layers) => PointOutcome::Done(PointResult {
                layers,
                energy_unit: hw.energy.unit,
                core_mhz: hw.clock.core_mhz,
            }),
            Err(reason) => PointOutcome::Failed(reason),
        }
    }
}

/// Loads the base of a sweep from `--net` and `--hw` values.
pub fn load_base(net: &str, hw_name: &str, model: &str) -> Result<SweepBase, SweepError> {
    let source = crate::hw::open_source(hw_name).map_err(|e| SweepError::Plan(e.to_string()))?;
    let hw = source
        .validate()
        .map_err(|e| SweepError::Plan(e.to_string()))?;
    let network = workload::load(net).map_err(|e| SweepError::Plan(e.to_string()))?;
    Ok(SweepBase {
        source,
        hw,
        network,
        model: model.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::Axis;

    #[test]
    fn points_become_configs_or_reasons() {
        let base = load_base("alexnet", "tiny", "test").unwrap();
        let space = param_space();
        assert_eq!(space.integer("glb.size_kib"), Some(true));
        assert_eq!(space.integer("energy.dram"), Some(false));
        let axes = vec![
            Axis::parse_arg("batch=1,3", &space).unwrap(),
            Axis::parse_arg("glb.filter_kib=200,1", &space).unwrap(),
        ];
        let plan = SweepPlan::new(axes, base.identity()).unwrap();
        let (hw, net) = base.instantiate(&plan, &plan.point(3)).unwrap();
        assert_eq!((net.batch, hw.glb.filter_kib), (3, 1));
        let reason = base.instantiate(&plan, &plan.point(0)).unwrap_err();
        assert!(reason.contains("glb.filter_kib"), "{reason}");
        // A value outside its key's range is refused before the sweep, in
        // the validator's words.
        let e = Axis::parse_arg("pe.psum_spad_words=0,16", &space)
            .unwrap_err()
            .to_string();
        let limit = hw::range_of("pe.psum_spad_words").unwrap().limit();
        assert!(
            e.starts_with(&format!(
                "`pe.psum_spad_words` = 0 is out of range: {limit}"
            )),
            "{e}"
        );
        let e = Axis::parse_arg("clock.core_mhz=1e-300", &space).unwrap_err();
        assert!(e.to_string().contains("= 1e-300 is out of range"), "{e}");
    }
}
