//! The corruption's seeded random source: `rand_xoshiro`'s xoshiro256++
//! seeded through SplitMix64, the harness's generator
//! (`harness::run::generator::Rng`), with the few derivations this crate
//! uses, written the same way (this crate does not depend on the harness).
//! A corruption run with `--seed N` picks the same bits in every release,
//! and the same as before the move to `rand` (pinned below).

use rand::{Rng as _, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

#[derive(Clone, Debug)]
pub struct Rng(Xoshiro256PlusPlus);

impl Rng {
    pub fn seed(seed: u64) -> Rng {
        Rng(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    /// Values of the hand-written xoshiro256++ this crate had before.
    #[test]
    fn seeds_give_the_values_of_the_hand_written_generator() {
        let mut r = Rng::seed(42);
        let got: Vec<u64> = (0..4).map(|_| r.next_u64()).collect();
        assert_eq!(
            got,
            [
                15021278609987233951,
                5881210131331364753,
                18149643915985481100,
                12933668939759105464
            ]
        );
        let mut r = Rng::seed(7);
        let below: Vec<u64> = (0..8).map(|_| r.below(1000)).collect();
        assert_eq!(below, [55, 172, 717, 427, 963, 465, 723, 329]);
        assert_eq!(r.below(0), 0);
    }
}
