//! Correlation ids of requests still waiting for a response, per connection.

use std::collections::VecDeque;

/// A bounded set of outstanding request correlation ids (oldest forgotten first).
///
/// Kafka answers requests in order on a connection, and few are in flight at once, so a small
/// queue with linear search is the right structure. Requests that never get a response (produce
/// with `acks=0`) just age out.
#[derive(Debug, Clone)]
pub(crate) struct Outstanding {
    ids: VecDeque<i32>,
    cap: usize,
}

impl Outstanding {
    pub(crate) fn new(cap: usize) -> Self {
        Outstanding {
            ids: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Remembers a request's correlation id.
    pub(crate) fn insert(&mut self, id: i32) {
        if self.ids.len() >= self.cap {
            self.ids.pop_front();
        }
        self.ids.push_back(id);
    }

    /// True if a request with this id awaits its response.
    pub(crate) fn contains(&self, id: i32) -> bool {
        self.ids.contains(&id)
    }

    /// Position of `id` among the outstanding requests (0 = oldest).
    pub(crate) fn position(&self, id: i32) -> Option<usize> {
        self.ids.iter().position(|&x| x == id)
    }

    /// The response for `id` arrived: forget it and every request sent before it (Kafka answers
    /// in order, so those got no response: `acks=0`, or it was lost in a gap). Returns whether
    /// it was outstanding.
    pub(crate) fn answered(&mut self, id: i32) -> bool {
        match self.ids.iter().position(|&x| x == id) {
            Some(i) => {
                self.ids.drain(..=i);
                true
            }
            None => false,
        }
    }

    /// Forgets `id` only. Returns whether it was outstanding.
    pub(crate) fn remove(&mut self, id: i32) -> bool {
        match self.ids.iter().position(|&x| x == id) {
            Some(i) => {
                self.ids.remove(i);
                true
            }
            None => false,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_set() {
        let mut o = Outstanding::new(2);
        assert!(o.is_empty());
        o.insert(1);
        o.insert(2);
        o.insert(3);
        assert!(!o.contains(1));
        assert!(o.contains(2) && o.contains(3));
        assert_eq!(
            (o.position(2), o.position(3), o.position(1)),
            (Some(0), Some(1), None)
        );
        assert!(o.remove(2));
        assert!(!o.remove(2));
        assert!(o.contains(3));
        o.insert(4);
        o.insert(5);
        assert!(o.answered(4));
        assert!(!o.contains(3) && !o.contains(4) && o.contains(5));
        assert!(!o.answered(4));
    }
}
