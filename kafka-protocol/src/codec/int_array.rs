//! [`IntArray`]: the type of every `[]int16`, `[]int32` and `[]int64` field.

use std::borrow::{Borrow, BorrowMut};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

use smallvec::SmallVec;

mod sealed {
    pub trait Sealed {}
    impl Sealed for i16 {}
    impl Sealed for i32 {}
    impl Sealed for i64 {}
}

/// An integer type that can be an element of an [`IntArray`]: `i16`, `i32` or `i64`.
pub trait IntElement: sealed::Sealed + Copy + Default + PartialEq + Eq + Hash + fmt::Debug {
    /// The inline storage: as many elements as fit in 16 bytes, so that an [`IntArray`] is no
    /// wider than a `Vec` (24 bytes).
    #[doc(hidden)]
    type Inline: smallvec::Array<Item = Self> + Default + AsMut<[Self]>;
    /// Bytes per element on the wire.
    #[doc(hidden)]
    const WIDTH: usize;
    /// One big-endian element; `bytes` holds exactly [`IntElement::WIDTH`] bytes.
    #[doc(hidden)]
    fn from_be(bytes: &[u8]) -> Self;
    /// Appends the element big-endian.
    #[doc(hidden)]
    fn put_be(self, w: &mut bytes::BytesMut);
    /// Writes the element big-endian into `out`, which holds exactly [`IntElement::WIDTH`]
    /// bytes.
    #[doc(hidden)]
    fn write_be(self, out: &mut [u8]);
}

impl IntElement for i16 {
    type Inline = [i16; 8];
    const WIDTH: usize = 2;
    #[inline(always)]
    fn from_be(b: &[u8]) -> Self {
        i16::from_be_bytes([b[0], b[1]])
    }
    #[inline(always)]
    fn put_be(self, w: &mut bytes::BytesMut) {
        bytes::BufMut::put_i16(w, self);
    }
    #[inline(always)]
    fn write_be(self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_be_bytes());
    }
}

impl IntElement for i32 {
    type Inline = [i32; 4];
    const WIDTH: usize = 4;
    #[inline(always)]
    fn from_be(b: &[u8]) -> Self {
        i32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    #[inline(always)]
    fn put_be(self, w: &mut bytes::BytesMut) {
        bytes::BufMut::put_i32(w, self);
    }
    #[inline(always)]
    fn write_be(self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_be_bytes());
    }
}

impl IntElement for i64 {
    type Inline = [i64; 2];
    const WIDTH: usize = 8;
    #[inline(always)]
    fn from_be(b: &[u8]) -> Self {
        i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }
    #[inline(always)]
    fn put_be(self, w: &mut bytes::BytesMut) {
        bytes::BufMut::put_i64(w, self);
    }
    #[inline(always)]
    fn write_be(self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_be_bytes());
    }
}

/// A growable array of integers that keeps up to 16 bytes of elements (8 `i16`, 4 `i32`, 2
/// `i64`) inline and only allocates beyond that.
///
/// Integer arrays in Kafka messages are mostly short: a Metadata response has a replica list and
/// an ISR of 3 broker ids for each of possibly thousands of partitions. As `Vec`s those cost two
/// allocations and two frees per partition, which was half of the time of decoding such a
/// response; inline they cost none. The type is as wide as a `Vec` and reads like one: it
/// dereferences to a slice, compares equal to slices, arrays and `Vec`s with the same elements,
/// converts from and into `Vec`, and its `Debug` output is a `Vec`'s.
///
/// ```
/// use kafka_protocol::codec::IntArray;
///
/// let mut replicas: IntArray<i32> = vec![1, 2, 3].into();
/// replicas.push(4);
/// assert_eq!(replicas, [1, 2, 3, 4]);
/// assert!(replicas.contains(&2));
/// assert_eq!(format!("{replicas:?}"), "[1, 2, 3, 4]");
/// let ids: Vec<i32> = replicas.into();
/// assert_eq!(ids, vec![1, 2, 3, 4]);
/// ```
#[derive(Clone, Default)]
pub struct IntArray<T: IntElement>(SmallVec<T::Inline>);

impl<T: IntElement> IntArray<T> {
    /// An empty array; does not allocate.
    #[inline]
    pub fn new() -> Self {
        Self(SmallVec::new())
    }

    /// An empty array with room for `capacity` elements (allocating only beyond the inline
    /// capacity).
    #[inline]
    pub fn with_capacity(capacity: usize) -> Self {
        Self(SmallVec::with_capacity(capacity))
    }

    /// Decodes `bytes.len() / WIDTH` big-endian elements; `bytes.len()` is a multiple of the
    /// element width.
    #[inline]
    pub(crate) fn from_be_bytes(bytes: &[u8]) -> Self {
        let n = bytes.len() / T::WIDTH;
        if n <= <T::Inline as smallvec::Array>::size() {
            let mut inline = T::Inline::default();
            for (slot, chunk) in inline.as_mut().iter_mut().zip(bytes.chunks_exact(T::WIDTH)) {
                *slot = T::from_be(chunk);
            }
            return Self(SmallVec::from_buf_and_len(inline, n));
        }
        Self(
            bytes
                .chunks_exact(T::WIDTH)
                .map(T::from_be)
                .collect::<Vec<T>>()
                .into(),
        )
    }

    /// The elements as a slice.
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        &self.0
    }

    /// The elements as a mutable slice.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.0
    }

    /// Elements the array holds without reallocating.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// Appends an element.
    #[inline]
    pub fn push(&mut self, value: T) {
        self.0.push(value);
    }

    /// Removes and returns the last element.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }

    /// Inserts an element at `index`, shifting the ones after it.
    ///
    /// # Panics
    /// If `index > len`.
    #[inline]
    pub fn insert(&mut self, index: usize, value: T) {
        self.0.insert(index, value);
    }

    /// Removes and returns the element at `index`, shifting the ones after it.
    ///
    /// # Panics
    /// If `index >= len`.
    #[inline]
    pub fn remove(&mut self, index: usize) -> T {
        self.0.remove(index)
    }

    /// Removes every element.
    #[inline]
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Keeps the first `len` elements.
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// Keeps only the elements for which `keep` is true.
    #[inline]
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.0.retain(|x| keep(x));
    }

    /// Appends every element of `other`.
    #[inline]
    pub fn extend_from_slice(&mut self, other: &[T]) {
        self.0.extend_from_slice(other);
    }

    /// The elements as a `Vec` (reusing the allocation when the array has spilled to the heap).
    #[inline]
    pub fn into_vec(self) -> Vec<T> {
        self.0.into_vec()
    }

    /// True while the elements are stored inline, without an allocation.
    #[inline]
    pub fn is_inline(&self) -> bool {
        !self.0.spilled()
    }
}

impl<T: IntElement> Deref for IntArray<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: IntElement> DerefMut for IntArray<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T: IntElement> AsRef<[T]> for IntArray<T> {
    fn as_ref(&self) -> &[T] {
        self
    }
}

impl<T: IntElement> AsMut<[T]> for IntArray<T> {
    fn as_mut(&mut self) -> &mut [T] {
        self
    }
}

impl<T: IntElement> Borrow<[T]> for IntArray<T> {
    fn borrow(&self) -> &[T] {
        self
    }
}

impl<T: IntElement> BorrowMut<[T]> for IntArray<T> {
    fn borrow_mut(&mut self) -> &mut [T] {
        self
    }
}

impl<T: IntElement> fmt::Debug for IntArray<T> {
    /// Prints like a `Vec`, so that output does not depend on the storage.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: IntElement> PartialEq for IntArray<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: IntElement> Eq for IntArray<T> {}

impl<T: IntElement> Hash for IntArray<T> {
    /// Hashes like the slice (and so like a `Vec`), as `Borrow<[T]>` requires.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl<T: IntElement> PartialEq<[T]> for IntArray<T> {
    fn eq(&self, other: &[T]) -> bool {
        self.as_slice() == other
    }
}

impl<T: IntElement> PartialEq<&[T]> for IntArray<T> {
    fn eq(&self, other: &&[T]) -> bool {
        self.as_slice() == *other
    }
}

impl<T: IntElement, const N: usize> PartialEq<[T; N]> for IntArray<T> {
    fn eq(&self, other: &[T; N]) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: IntElement> PartialEq<Vec<T>> for IntArray<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: IntElement> PartialEq<IntArray<T>> for Vec<T> {
    fn eq(&self, other: &IntArray<T>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: IntElement> PartialEq<IntArray<T>> for [T] {
    fn eq(&self, other: &IntArray<T>) -> bool {
        self == other.as_slice()
    }
}

impl<T: IntElement> From<Vec<T>> for IntArray<T> {
    /// Keeps the elements inline when they fit, else takes over the `Vec`'s allocation.
    fn from(v: Vec<T>) -> Self {
        if v.len() <= <T::Inline as smallvec::Array>::size() {
            Self(SmallVec::from_slice(&v))
        } else {
            Self(SmallVec::from_vec(v))
        }
    }
}

impl<T: IntElement> From<&[T]> for IntArray<T> {
    fn from(s: &[T]) -> Self {
        Self(SmallVec::from_slice(s))
    }
}

impl<T: IntElement, const N: usize> From<[T; N]> for IntArray<T> {
    fn from(a: [T; N]) -> Self {
        Self(SmallVec::from_slice(&a))
    }
}

impl<T: IntElement> From<IntArray<T>> for Vec<T> {
    fn from(a: IntArray<T>) -> Self {
        a.into_vec()
    }
}

impl<T: IntElement> FromIterator<T> for IntArray<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<T: IntElement> Extend<T> for IntArray<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl<'a, T: IntElement> Extend<&'a T> for IntArray<T> {
    fn extend<I: IntoIterator<Item = &'a T>>(&mut self, iter: I) {
        self.0.extend(iter.into_iter().copied());
    }
}

/// The owning iterator of an [`IntArray`].
pub type IntArrayIntoIter<T> = smallvec::IntoIter<<T as IntElement>::Inline>;

impl<T: IntElement> IntoIterator for IntArray<T> {
    type Item = T;
    type IntoIter = IntArrayIntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T: IntElement> IntoIterator for &'a IntArray<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T: IntElement> IntoIterator for &'a mut IntArray<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

#[cfg(feature = "arbitrary")]
impl<'a, T: IntElement + arbitrary::Arbitrary<'a>> arbitrary::Arbitrary<'a> for IntArray<T> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        u.arbitrary_iter::<T>()?.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_wide_as_a_vec() {
        assert_eq!(std::mem::size_of::<IntArray<i16>>(), 24);
        assert_eq!(std::mem::size_of::<IntArray<i32>>(), 24);
        assert_eq!(std::mem::size_of::<IntArray<i64>>(), 24);
    }

    #[test]
    fn decodes_inline_and_spilled() {
        let three: Vec<u8> = [1i32, -2, 3].iter().flat_map(|v| v.to_be_bytes()).collect();
        let a = IntArray::<i32>::from_be_bytes(&three);
        assert_eq!(a, [1, -2, 3]);
        assert!(a.is_inline());
        let five: Vec<u8> = (0i32..5).flat_map(|v| v.to_be_bytes()).collect();
        let b = IntArray::<i32>::from_be_bytes(&five);
        assert_eq!(b, vec![0, 1, 2, 3, 4]);
        assert!(!b.is_inline());
        let longs: Vec<u8> = [i64::MIN, 7, i64::MAX]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        assert_eq!(
            IntArray::<i64>::from_be_bytes(&longs),
            [i64::MIN, 7, i64::MAX]
        );
        let shorts: Vec<u8> = [-1i16, 2].iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(IntArray::<i16>::from_be_bytes(&shorts), [-1, 2]);
        assert!(IntArray::<i32>::from_be_bytes(&[]).is_empty());
    }

    #[test]
    fn behaves_like_a_vec() {
        let mut a: IntArray<i32> = (1..=3).collect();
        let v: Vec<i32> = vec![1, 2, 3];
        assert_eq!(a, v);
        assert_eq!(v, a);
        assert_eq!(format!("{a:?}"), format!("{v:?}"));
        assert_eq!(format!("{a:#?}"), format!("{v:#?}"));
        a.extend([4, 5]);
        assert!(!a.is_inline());
        assert_eq!(a.iter().sum::<i32>(), 15);
        a.retain(|x| x % 2 == 1);
        assert_eq!(a, [1, 3, 5]);
        a.sort_by(|x, y| y.cmp(x));
        assert_eq!(a.into_vec(), vec![5, 3, 1]);
        let small: IntArray<i32> = vec![9].into();
        assert!(small.is_inline());
        let hash = |x: &dyn Fn(&mut std::collections::hash_map::DefaultHasher)| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            x(&mut h);
            h.finish()
        };
        assert_eq!(hash(&|h| small.hash(h)), hash(&|h| vec![9i32].hash(h)));
        assert_ne!(small, IntArray::<i32>::new());
    }
}
