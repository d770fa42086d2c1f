//! The iteration order of a Java `HashMap<String, _>`.
//!
//! The Java assignors iterate hash maps keyed by member id, and in a few places the order
//! decides the outcome (which of several members that own enough partitions keeps its extra
//! one). To hand out exactly what a Java leader would, we iterate in the same order: a
//! default-sized `HashMap` orders entries by bucket (`hash ^ (hash >>> 16)` masked by the table
//! size) and, within a bucket, by insertion; the table doubles from 16 whenever more than three
//! quarters full, and a split keeps the relative order. (Buckets are treeified only past 8
//! colliding entries in a table of 64+, which member ids never reach in practice.)

/// Java's `String.hashCode`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units.
pub(crate) fn string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// `HashMap.hash`: the high half folded into the low half.
fn spread(h: i32) -> u32 {
    let h = h as u32;
    h ^ (h >> 16)
}

/// The table size of a default `HashMap` after `n` insertions.
fn table_size(n: usize) -> usize {
    let mut cap = 16usize;
    while n > cap / 4 * 3 {
        cap *= 2;
    }
    cap
}

/// Indices of `keys` (given in insertion order, no duplicates) in the order a default Java
/// `HashMap` built by inserting them one by one iterates them.
pub(crate) fn hash_map_order<S: AsRef<str>>(keys: &[S]) -> Vec<usize> {
    let mask = table_size(keys.len()) as u32 - 1;
    let mut idx: Vec<usize> = (0..keys.len()).collect();
    // A stable sort keeps insertion order within a bucket.
    idx.sort_by_key(|&i| spread(string_hash(keys[i].as_ref())) & mask);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hash_matches_java() {
        // Values from `"...".hashCode()` in Java.
        assert_eq!(string_hash(""), 0);
        assert_eq!(string_hash("a"), 97);
        assert_eq!(string_hash("hello"), 99_162_322);
        assert_eq!(string_hash("consumer-1"), -166_239_206);
        assert_eq!(string_hash("é"), 233);
    }

    #[test]
    fn order_is_by_bucket_then_insertion() {
        // "a" (97 → bucket 1) and "q" (113 → bucket 1) collide in a 16-slot table; "b" is in
        // bucket 2.
        let keys = ["b", "q", "a"];
        assert_eq!(hash_map_order(&keys), vec![1, 2, 0]);
        assert_eq!(table_size(12), 16);
        assert_eq!(table_size(13), 32);
    }
}
