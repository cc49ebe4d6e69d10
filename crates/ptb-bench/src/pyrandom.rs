//! Python's `random.Random(seed)` (MT19937 seeded through `init_by_array`) as far as PostTrainBench
//! uses it: `shuffle`, which orders the ArenaHard and HealthBench items before `--limit` takes the
//! first N, and uniform index draws (`_randbelow`).

const N: usize = 624;
const M: usize = 397;

/// A Mersenne Twister seeded exactly as CPython seeds `random.Random(seed)` for a non-negative int.
pub struct PyRandom {
    mt: [u32; N],
    index: usize,
}

impl PyRandom {
    /// `random.Random(seed)`.
    pub fn new(seed: u64) -> Self {
        let mut key: Vec<u32> = Vec::new();
        let mut s = seed;
        while s > 0 {
            key.push(s as u32);
            s >>= 32;
        }
        if key.is_empty() {
            key.push(0);
        }
        let mut mt = [0u32; N];
        mt[0] = 19_650_218;
        for i in 1..N {
            mt[i] = 1_812_433_253u32.wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_add(i as u32);
        }
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        Self { mt, index: N }
    }

    /// The next 32 random bits (`genrand_uint32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.mt[k] & 0x8000_0000) | (self.mt[(k + 1) % N] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.mt[k] = self.mt[(k + M) % N] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `_randbelow(n)` for `1 <= n < 2^32`: rejection sampling on `getrandbits(n.bit_length())`.
    pub fn below(&mut self, n: u32) -> u32 {
        let bits = 32 - n.leading_zeros();
        loop {
            let r = self.next_u32() >> (32 - bits);
            if r < n {
                return r;
            }
        }
    }

    /// `random.shuffle(items)` (Fisher–Yates from the end, as CPython does it).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u32 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_cpython_random_42() {
        // python3 -c "import random; r=random.Random(42); print([r.getrandbits(32) for _ in range(3)])"
        let mut r = PyRandom::new(42);
        assert_eq!([r.next_u32(), r.next_u32(), r.next_u32()], [2746317213, 478163327, 107420369]);
        // x=list(range(10)); random.Random(42).shuffle(x)
        let mut x: Vec<u32> = (0..10).collect();
        PyRandom::new(42).shuffle(&mut x);
        assert_eq!(x, [7, 3, 2, 8, 5, 6, 9, 4, 0, 1]);
        let mut y: Vec<u32> = (0..250).collect();
        PyRandom::new(42).shuffle(&mut y);
        assert_eq!(y[..8], [44, 98, 184, 123, 121, 167, 9, 176]);
    }
}
