//! Which key an operation picks: uniformly (the default), or skewed toward
//! a few hot keys, as Jepsen's key distributions, for hot-key tests:
//!
//! ```yaml
//! workload:
//!   name: register
//!   keys: 1000
//!   key-distribution: zipf     # uniform (default) | zipf | exponential
//!   zipf-exponent: 1.0         # > 0; only zipf reads it
//! ```
//!
//! The chooser picks one of a workload's `keys` key *slots*, slot 0 the
//! hottest. Workloads that retire a key after so many operations
//! (`ops-per-key`, `max-writes-per-key`) put a fresh key in the slot, so a
//! hot slot turns its keys over faster; with a retirement limit above the
//! run's length each slot keeps one key, and the per-key counts in
//! `results.json` (`ops.by-key`) show the distribution itself.
//!
//! - `uniform`: every slot alike, `below(keys)`: the same stream as before
//!   distributions existed, so a seed gives the same ops as then.
//! - `zipf`: slot `k` (from 0) with weight `1 / (k + 1)^s`, `s` the
//!   `zipf-exponent` (`rand_distr::Zipf`).
//! - `exponential`: slot `k` with weight `e^(-10 k / keys)` (an
//!   exponential of mean `keys / 10`, `rand_distr::Exp`, drawn again past
//!   the last slot): the first tenth of the slots take about 63% of the
//!   operations, whatever `keys` is.

use harness::run::Rng;
use rand_distr::{Distribution, Exp, Zipf};
use serde::{Deserialize, Serialize};

/// A test file's `key-distribution`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum KeyDistribution {
    #[default]
    Uniform,
    Zipf,
    Exponential,
}

/// A string, one of [`KeyDistribution::NAMES`] (parsed by `TryFrom<String>`).
impl schemars::JsonSchema for KeyDistribution {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KeyDistribution".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": KeyDistribution::NAMES,
        })
    }
}

impl KeyDistribution {
    pub const NAMES: &'static [&'static str] = &["uniform", "zipf", "exponential"];

    pub fn name(self) -> &'static str {
        match self {
            KeyDistribution::Uniform => "uniform",
            KeyDistribution::Zipf => "zipf",
            KeyDistribution::Exponential => "exponential",
        }
    }
}

impl TryFrom<String> for KeyDistribution {
    type Error = String;

    fn try_from(s: String) -> Result<KeyDistribution, String> {
        match s.as_str() {
            "uniform" => Ok(KeyDistribution::Uniform),
            "zipf" => Ok(KeyDistribution::Zipf),
            "exponential" => Ok(KeyDistribution::Exponential),
            other => Err(format!(
                "key-distribution: unknown distribution {other:?}; accepted: {}",
                KeyDistribution::NAMES.join(", ")
            )),
        }
    }
}

impl From<KeyDistribution> for String {
    fn from(d: KeyDistribution) -> String {
        d.name().to_string()
    }
}

/// The default `zipf-exponent`.
pub const DEFAULT_ZIPF_EXPONENT: f64 = 1.0;

/// Checks `zipf-exponent` (errors start with `workload`).
pub fn validate(workload: &str, zipf_exponent: f64) -> Result<(), String> {
    if !(zipf_exponent.is_finite() && zipf_exponent > 0.0) {
        return Err(format!(
            "{workload}: zipf-exponent must be a number above 0, found {zipf_exponent}"
        ));
    }
    Ok(())
}

/// Picks key slots `0..n` by a distribution.
#[derive(Clone, Debug)]
pub struct KeyChooser {
    n: u64,
    dist: Dist,
}

#[derive(Clone, Debug)]
enum Dist {
    Uniform,
    Zipf(Zipf<f64>),
    Exp(Exp<f64>),
}

impl KeyChooser {
    /// A chooser over `n` slots (`n >= 1`; options with `keys: 0` are
    /// refused before). Parameters `validate` refuses fall back to uniform.
    pub fn new(n: u64, dist: KeyDistribution, zipf_exponent: f64) -> KeyChooser {
        let n = n.max(1);
        let dist = match dist {
            KeyDistribution::Uniform => Dist::Uniform,
            KeyDistribution::Zipf => Zipf::new(n as f64, zipf_exponent)
                .map(Dist::Zipf)
                .unwrap_or(Dist::Uniform),
            KeyDistribution::Exponential => Exp::new(10.0 / n as f64)
                .map(Dist::Exp)
                .unwrap_or(Dist::Uniform),
        };
        KeyChooser { n, dist }
    }

    /// A slot in `0..n`.
    pub fn pick(&self, rng: &mut Rng) -> u64 {
        match &self.dist {
            // Exactly as before distributions: the stream is unchanged.
            Dist::Uniform => rng.below(self.n),
            // Zipf draws 1..=n (as a float).
            Dist::Zipf(z) => (z.sample(rng) as u64).clamp(1, self.n) - 1,
            Dist::Exp(e) => loop {
                // Past the last slot with probability e^-10: draw again.
                let x = e.sample(rng);
                if x < self.n as f64 {
                    break x as u64;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(c: &KeyChooser, n: usize, draws: usize) -> Vec<usize> {
        let mut rng = Rng::seed(11);
        let mut v = vec![0; n];
        for _ in 0..draws {
            v[c.pick(&mut rng) as usize] += 1;
        }
        v
    }

    /// Uniform picks as `below` always did: the same slots for a seed.
    #[test]
    fn uniform_is_the_old_stream() {
        let c = KeyChooser::new(10, KeyDistribution::Uniform, 1.0);
        let (mut a, mut b) = (Rng::seed(5), Rng::seed(5));
        for _ in 0..1000 {
            assert_eq!(c.pick(&mut a), b.below(10));
        }
    }

    /// Zipf with exponent 1 over 100 keys: slot k has probability
    /// 1/((k+1) H_100), H_100 = 5.187; so slot 0 about 19.3% of the
    /// draws, slot 1 about 9.6%, slot 9 about 1.9%, slot 99 about 0.19%.
    #[test]
    fn zipf_follows_the_power_law() {
        let c = KeyChooser::new(100, KeyDistribution::Zipf, 1.0);
        let v = counts(&c, 100, 200_000);
        let share = |k: usize| v[k] as f64 / 200_000.0;
        assert!((0.18..0.21).contains(&share(0)), "{}", share(0));
        assert!((0.088..0.105).contains(&share(1)), "{}", share(1));
        assert!((0.016..0.022).contains(&share(9)), "{}", share(9));
        assert!((0.0012..0.0027).contains(&share(99)), "{}", share(99));
        // A larger exponent is more skewed.
        let steep = counts(
            &KeyChooser::new(100, KeyDistribution::Zipf, 2.0),
            100,
            200_000,
        );
        assert!(steep[0] as f64 / 200_000.0 > 0.55, "{}", steep[0]);
    }

    /// Exponential: the first tenth of the slots take 1 - e^-1 = 63% of
    /// the draws (renormalised over 0..n: 63.2% / (1 - e^-10)).
    #[test]
    fn exponential_puts_most_draws_on_the_first_tenth() {
        for n in [10u64, 1000] {
            let c = KeyChooser::new(n, KeyDistribution::Exponential, 1.0);
            let v = counts(&c, n as usize, 100_000);
            let first: usize = v[..(n as usize / 10)].iter().sum();
            let share = first as f64 / 100_000.0;
            assert!((0.61..0.655).contains(&share), "n={n}: {share}");
            assert!(v.iter().all(|&x| x > 0) || n > 100, "{v:?}");
        }
        let one = KeyChooser::new(1, KeyDistribution::Exponential, 1.0);
        assert_eq!(counts(&one, 1, 100), vec![100]);
    }

    #[test]
    fn names_and_bad_values_are_refused_clearly() {
        let e = KeyDistribution::try_from("pareto".to_string()).unwrap_err();
        assert_eq!(
            e,
            "key-distribution: unknown distribution \"pareto\"; accepted: uniform, zipf, exponential"
        );
        assert_eq!(
            KeyDistribution::try_from("zipf".to_string()),
            Ok(KeyDistribution::Zipf)
        );
        assert!(validate("register", 1.0).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = validate("register", bad).unwrap_err();
            assert!(
                e.starts_with("register: zipf-exponent must be a number above 0"),
                "{e}"
            );
        }
    }

    /// Register and list-append ops for a seed, pinned from shakedown
    /// before its random source moved to `rand` and key distributions
    /// existed: `--seed 9` with the default (uniform) keys gives the same
    /// operations.
    #[test]
    fn a_seed_gives_the_ops_it_gave_before_rand() {
        let ctx = harness::run::GenCtx {
            worker: 0,
            process: 0,
            node: 0,
            nodes: 1,
            concurrency: 1,
            elapsed: std::time::Duration::ZERO,
        };
        let mut g = crate::register::Gen::new(Default::default());
        let mut rng = Rng::seed(9);
        let got: Vec<String> = (0..8)
            .map(|_| {
                let op = g.next(&ctx, &mut rng).unwrap();
                format!("reg {:?} {:?} {:?}", op.f, op.key, op.value)
            })
            .collect();
        let want = [
            "reg \"read\" Some(Int(5)) Nil",
            "reg \"cas\" Some(Int(1)) List([Int(0), Int(0)])",
            "reg \"read\" Some(Int(4)) Nil",
            "reg \"write\" Some(Int(8)) Int(4)",
            "reg \"read\" Some(Int(6)) Nil",
            "reg \"read\" Some(Int(2)) Nil",
            "reg \"write\" Some(Int(8)) Int(4)",
            "reg \"read\" Some(Int(4)) Nil",
        ];
        assert_eq!(got, want);
        let mut g = crate::list_append::Gen::new(Default::default());
        let mut rng = Rng::seed(9);
        let got: Vec<String> = (0..4)
            .map(|_| {
                let op = g.next(&ctx, &mut rng).unwrap();
                format!("la {:?} {:?}", op.f, op.value)
            })
            .collect();
        let want = [
            "la \"txn\" List([List([Str(\"r\"), Int(3), Nil]), List([Str(\"r\"), Int(7), Nil]), List([Str(\"r\"), Int(1), Nil])])",
            "la \"txn\" List([List([Str(\"append\"), Int(6), Int(1)])])",
            "la \"txn\" List([List([Str(\"r\"), Int(5), Nil]), List([Str(\"r\"), Int(2), Nil]), List([Str(\"append\"), Int(7), Int(1)]), List([Str(\"r\"), Int(7), Nil])])",
            "la \"txn\" List([List([Str(\"r\"), Int(7), Nil])])",
        ];
        assert_eq!(got, want);
    }
}
