//! Key classes: which class of the scenario each key is in.
//!
//! A leaf module (it imports nothing of the crate) because the cache, the
//! cluster, the metrics and the clients all read it.

/// Assigns each key to a class so every class gets its share of the keys,
/// interleaved over popularity ranks (smooth weighted round robin): a class
/// with 10% of the keys holds every tenth key, hot ones included.
pub fn assign_classes(keys: u32, shares: &[f64]) -> Vec<u8> {
    let mut credit = vec![0.0; shares.len()];
    (0..keys)
        .map(|_| {
            for (c, share) in credit.iter_mut().zip(shares) {
                *c += share;
            }
            let best = (0..credit.len())
                .max_by(|&a, &b| credit[a].total_cmp(&credit[b]).then(b.cmp(&a)))
                .expect("at least one class");
            credit[best] -= 1.0;
            best as u8
        })
        .collect()
}

/// Which class each key is in: nothing stored when there is one class.
#[derive(Clone, Debug)]
pub enum KeyClasses {
    /// Every key is in class 0.
    One,
    /// One byte per key ([`assign_classes`]).
    PerKey(Vec<u8>),
}

impl KeyClasses {
    /// Classes of `keys` keys with the given shares.
    pub fn new(keys: u32, shares: &[f64]) -> Self {
        if shares.len() == 1 {
            KeyClasses::One
        } else {
            KeyClasses::PerKey(assign_classes(keys, shares))
        }
    }

    /// The class of `key`.
    #[inline]
    pub fn of(&self, key: u32) -> u8 {
        match self {
            KeyClasses::One => 0,
            KeyClasses::PerKey(class_of) => class_of[key as usize],
        }
    }

    /// How many of the first `keys` keys each of `classes` classes holds.
    pub fn counts(&self, keys: u32, classes: usize) -> Vec<u64> {
        let mut counts = vec![0u64; classes];
        match self {
            KeyClasses::One => counts[0] = keys as u64,
            KeyClasses::PerKey(class_of) => {
                for &c in &class_of[..keys as usize] {
                    counts[c as usize] += 1;
                }
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_get_their_share_interleaved() {
        let class_of = assign_classes(1000, &[0.5, 0.3, 0.2]);
        let count = |c| class_of.iter().filter(|&&x| x == c).count();
        assert_eq!((count(0), count(1), count(2)), (500, 300, 200));
        // Every class appears among the 10 hottest keys.
        assert!((0..3).all(|c| class_of[..10].contains(&c)));
    }

    #[test]
    fn one_class_stores_nothing_and_counts_every_key() {
        let one = KeyClasses::new(1000, &[1.0]);
        assert!(matches!(one, KeyClasses::One));
        assert_eq!((one.of(999), one.counts(1000, 1)), (0, vec![1000]));
        let three = KeyClasses::new(1000, &[0.5, 0.3, 0.2]);
        assert_eq!(three.counts(1000, 3), vec![500, 300, 200]);
    }
}
