//! The embedded default data: a deterministic, SYNTHETIC 16-feature, 5-class
//! "jet-like" generator, so every command runs with no download. It is not
//! physics: each jet draws six latent properties (mass, prong count,
//! multiplicity, width, momentum balance, a nuisance) from class-dependent
//! Gaussians that overlap on purpose (W vs Z, gluon vs quark), and the 16
//! features are fixed non-linear mixtures of them plus noise. Float accuracy is
//! therefore well below 100 % and falls when bits are removed.
use super::{Dataset, JET_CLASSES, JET_FEATURES};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LATENT: usize = 6;

/// Class means of the latent properties (mass, prongs, multiplicity, width,
/// balance, nuisance) and their spread.
const CLASS_MEANS: [[f32; LATENT]; 5] = [
    [-1.0, -0.6, 1.0, 0.8, 0.0, 0.0],   // g: light, one prong, many constituents, wide
    [-1.2, -0.7, -0.5, -0.3, 0.1, 0.0], // q: light, one prong, fewer constituents
    [1.9, 1.5, 1.1, 0.5, -0.3, 0.0],    // t: heavy, three prongs
    [0.55, 0.6, 0.0, -0.2, 0.3, 0.0],   // w: ~80 GeV, two prongs
    [0.85, 0.6, 0.1, -0.1, 0.25, 0.0],  // z: ~91 GeV, two prongs (overlaps w)
];
const CLASS_SPREAD: [f32; LATENT] = [0.55, 0.6, 0.7, 0.7, 0.8, 1.0];
const FEATURE_NOISE: f32 = 0.25;

fn normal(rng: &mut ChaCha8Rng) -> f32 {
    // Box–Muller: two uniforms in (0, 1] to one standard normal.
    let u1: f32 = 1.0 - rng.gen::<f32>();
    let u2: f32 = rng.gen::<f32>();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// The fixed mixing of latents into features: the same for every seed.
fn mixing() -> [[f32; LATENT]; 16] {
    let mut rng = ChaCha8Rng::seed_from_u64(0x6a65_7473); // "jets"
    let mut a = [[0f32; LATENT]; 16];
    for row in a.iter_mut() {
        for v in row.iter_mut() {
            *v = rng.gen_range(-1.0f32..1.0);
        }
    }
    // Anchor a few features to physical meaning: mass, multiplicity, zlogz.
    a[14] = [1.2, 0.2, 0.0, 0.1, 0.0, 0.0];
    a[15] = [0.1, 0.3, 1.2, 0.2, 0.0, 0.0];
    a[0] = [-0.2, -0.2, -1.0, -0.4, 0.0, 0.1];
    a
}

/// `n` samples from `seed`; the same seed gives the same data on any machine.
pub fn generate(n: usize, seed: u64) -> Dataset {
    let a = mixing();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(n * 16);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let class = rng.gen_range(0..5usize);
        let mut z = [0f32; LATENT];
        for (k, v) in z.iter_mut().enumerate() {
            *v = CLASS_MEANS[class][k] + CLASS_SPREAD[k] * normal(&mut rng);
        }
        for (f, row) in a.iter().enumerate() {
            let lin: f32 = row.iter().zip(&z).map(|(w, v)| w * v).sum();
            let value = match f {
                14 => 60.0 * (0.45 * lin).exp(),                    // mass-like, GeV, positive
                15 => (12.0 + 6.0 * lin).max(1.0).round(),          // multiplicity, integer
                f if f % 3 == 1 => (1.5 * lin).tanh() * 0.3 + 0.35, // bounded ratios
                f if f % 3 == 2 => (0.6 * lin).exp(),               // positive, skewed
                _ => lin,
            };
            x.push(value + FEATURE_NOISE * normal(&mut rng) * if f == 14 { 8.0 } else { value.abs().clamp(0.2, 1.0) });
        }
        y.push(class as u8);
    }
    Dataset {
        n_features: 16,
        x,
        y,
        feature_names: JET_FEATURES.iter().map(|s| s.to_string()).collect(),
        class_names: JET_CLASSES.iter().map(|s| s.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_balanced() {
        let a = generate(5000, 3);
        assert_eq!(a, generate(5000, 3));
        assert_ne!(a.x, generate(5000, 4).x);
        let mut counts = [0usize; 5];
        a.y.iter().for_each(|&c| counts[c as usize] += 1);
        assert!(counts.iter().all(|&c| c > 800 && c < 1200), "{counts:?}");
        assert!(a.x.iter().all(|v| v.is_finite()));
    }
}
