//! Random names with no meaning: syllables, never a convention a heuristic could latch onto.

use rand::Rng;
use std::collections::HashSet;

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ne", "tu", "ra", "vo", "xe", "zi", "po", "qa", "du", "be", "fo", "gi", "hu",
    "ja", "wy", "so", "te", "ri", "no", "ma", "le",
];

/// Names the backends keep for themselves (PostgreSQL `none`/`public`, Vault `root`/`default`).
const RESERVED: [&str; 4] = ["none", "public", "root", "default"];

/// Hands out names that are unique within one organisation (PostgreSQL roles are cluster-wide,
/// Vault policy names global: a clash would merge two things the test thinks are distinct).
#[derive(Debug, Default)]
pub struct Names {
    used: HashSet<String>,
}

impl Names {
    /// A fresh lower-case name of 2–4 syllables, sometimes with a digit.
    pub fn fresh(&mut self, rng: &mut impl Rng) -> String {
        loop {
            let n = rng.gen_range(2..=4);
            let mut s: String = (0..n)
                .map(|_| SYLLABLES[rng.gen_range(0..SYLLABLES.len())])
                .collect();
            if rng.gen_bool(0.2) {
                s.push(char::from(b'0' + rng.gen_range(0..10u8)));
            }
            if !RESERVED.contains(&s.as_str()) && self.used.insert(s.clone()) {
                return s;
            }
        }
    }
}

/// A random subset of `items` (each kept with probability `p`).
pub fn subset<T: Clone, R: Rng + ?Sized>(rng: &mut R, items: &[T], p: f64) -> Vec<T> {
    items.iter().filter(|_| rng.gen_bool(p)).cloned().collect()
}

/// One random element.
pub fn pick<'a, T, R: Rng + ?Sized>(rng: &mut R, items: &'a [T]) -> Option<&'a T> {
    (!items.is_empty()).then(|| &items[rng.gen_range(0..items.len())])
}
