//! The application servers' CPUs: work queues for a free core.
//!
//! Each app instance runs its CPU work (the cost of each cache command,
//! value compression) on `cores_per_instance` cores, first come first
//! served: a job starts on the core that frees first, or at once when one is
//! idle. With unlimited cores every job starts at once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::time::{SimDuration, SimTime};

/// The cores of every app instance.
#[derive(Debug)]
pub struct AppCpu {
    /// Per instance, when each of its cores frees (empty: unlimited cores).
    cores: Vec<BinaryHeap<Reverse<SimTime>>>,
}

impl AppCpu {
    /// `instances` app instances of `cores` cores each; `None` = unlimited.
    pub fn new(instances: u16, cores: Option<u32>) -> Self {
        AppCpu {
            cores: match cores {
                None => Vec::new(),
                Some(c) => (0..instances)
                    .map(|_| (0..c).map(|_| Reverse(SimTime::ZERO)).collect())
                    .collect(),
            },
        }
    }

    /// Work of `work` submitted at `now` on `instance`: when it is done.
    pub fn run(&mut self, instance: u16, now: SimTime, work: SimDuration) -> SimTime {
        let Some(cores) = self.cores.get_mut(instance as usize) else {
            return now + work;
        };
        let mut free = cores.peek_mut().expect("an instance has at least one core");
        let done = free.0.max(now) + work;
        free.0 = done;
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_queue_for_the_first_free_core() {
        let mut cpu = AppCpu::new(2, Some(2));
        let t = SimTime::ZERO;
        let w = SimDuration(10);
        assert_eq!(cpu.run(0, t, w), SimTime(10));
        assert_eq!(cpu.run(0, t, w), SimTime(10));
        assert_eq!(cpu.run(0, t, w), SimTime(20), "both cores busy: waits");
        assert_eq!(
            cpu.run(1, t, w),
            SimTime(10),
            "another instance's cores are its own"
        );
        assert_eq!(
            cpu.run(0, SimTime(50), w),
            SimTime(60),
            "an idle core starts at once"
        );
    }

    #[test]
    fn unlimited_cores_never_queue() {
        let mut cpu = AppCpu::new(1, None);
        for _ in 0..5 {
            assert_eq!(cpu.run(0, SimTime(7), SimDuration(3)), SimTime(10));
        }
    }
}
