//! A stream's draws made ahead of use, in blocks, on a helper thread when
//! the run has a core to spare.
//!
//! The draws of one stream are a fixed sequence whoever makes them, so
//! making them on another thread changes no output. Arrival gaps and key
//! draws depend on nothing the simulation does, and drawing them is about a
//! fifth of a plain run's time: a single run with a second core does them
//! there. Runs that share a pool of threads (sweeps) make their own, in the
//! same blocks.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::hint::prefetch_line;
use crate::rng::Stream;

/// Draws in a block: enough that handing a block over costs nothing per
/// draw, few enough that the blocks in flight stay in the core's cache.
const BLOCK: usize = 16384;

/// How many draws ahead [`Ahead::draw`] asks for the block's memory.
const PREFETCH_DRAWS: usize = 128;

/// Full blocks a helper may have ready before it waits for the run.
const BLOCKS_AHEAD: usize = 2;

/// Where a sequence's blocks are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Maker {
    /// On the thread that uses them, when a block runs out.
    Here,
    /// On a helper thread of their own.
    Helper,
}

impl Maker {
    /// A helper when this machine has more than one core and the caller is
    /// not one of several threads of a pool (whose siblings use the cores).
    pub fn for_this_thread() -> Maker {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let pool_siblings =
            rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1;
        if cores > 1 && !pool_siblings {
            Maker::Helper
        } else {
            Maker::Here
        }
    }
}

/// The fill of a block: writes the next draws of a stream into every slot.
type Fill<T> = Box<dyn FnMut(&mut [T]) + Send>;

/// A sequence of draws, read one at a time, made a block at a time.
pub struct Ahead<T> {
    block: Vec<T>,
    next: usize,
    source: Source<T>,
}

enum Source<T> {
    Here(Fill<T>),
    Helper {
        full: Receiver<Vec<T>>,
        spent: SyncSender<Vec<T>>,
        _thread: Joined,
    },
}

impl<T: Copy + Default + Send + 'static> Ahead<T> {
    /// The sequence `fill` writes, made by `maker` (here, if no helper
    /// thread can be started).
    pub fn new(maker: Maker, fill: impl FnMut(&mut [T]) + Send + 'static) -> Self {
        let fill: Fill<T> = Box::new(fill);
        let source = match maker {
            Maker::Here => Source::Here(fill),
            Maker::Helper => Self::helper(fill),
        };
        Ahead {
            block: Vec::new(),
            next: 0,
            source,
        }
    }

    /// The draws `draw` makes from `rng`, one per slot of each block, made
    /// by `maker`. (A block's draws are independent, so the processor
    /// overlaps their table lookups' cache misses.)
    pub fn from_stream(
        maker: Maker,
        mut rng: Stream,
        mut draw: impl FnMut(&mut Stream) -> T + Send + 'static,
    ) -> Self {
        Self::new(maker, move |block: &mut [T]| {
            for slot in block {
                *slot = draw(&mut rng);
            }
        })
    }

    /// A helper thread making blocks with `fill`, recycling the spent ones.
    fn helper(fill: Fill<T>) -> Source<T> {
        let (full_tx, full) = sync_channel::<Vec<T>>(BLOCKS_AHEAD);
        let (spent, spent_rx) = sync_channel::<Vec<T>>(BLOCKS_AHEAD + 2);
        let (fill_tx, fill_rx) = sync_channel::<Fill<T>>(1);
        let thread = std::thread::Builder::new()
            .name("stampede-draws".into())
            .spawn(move || {
                let Ok(mut fill) = fill_rx.recv() else { return };
                // Ends when the sequence is dropped and its channels close.
                while let Ok(mut block) = spent_rx.recv() {
                    fill(&mut block);
                    if full_tx.send(block).is_err() {
                        return;
                    }
                }
            });
        let Ok(thread) = thread else {
            return Source::Here(fill);
        };
        fill_tx.send(fill).expect("the helper waits for its fill");
        for _ in 0..BLOCKS_AHEAD + 2 {
            spent
                .send(vec![T::default(); BLOCK])
                .expect("the channel has room for every block");
        }
        Source::Helper {
            full,
            spent,
            _thread: Joined(Some(thread)),
        }
    }

    /// The next draw.
    #[inline(always)]
    pub fn draw(&mut self) -> T {
        if self.next == self.block.len() {
            self.refill();
        }
        if let Some(later) = self.block.get(self.next + PREFETCH_DRAWS) {
            // A block another core wrote: ask for its lines before they are read.
            prefetch_line(later);
        }
        self.next += 1;
        self.block[self.next - 1]
    }

    /// The draw `ahead` places after the one [`Ahead::draw`] gave last, if it
    /// is in the block at hand (a look ahead that makes nothing).
    #[inline(always)]
    pub fn peek(&self, ahead: usize) -> Option<T> {
        self.block.get(self.next + ahead - 1).copied()
    }

    /// Replaces the spent block with the next one.
    #[cold]
    fn refill(&mut self) {
        match &mut self.source {
            Source::Here(fill) => {
                self.block.resize(BLOCK, T::default());
                fill(&mut self.block);
            }
            Source::Helper { full, spent, .. } => {
                let next = full
                    .recv()
                    .expect("the draws' helper thread runs until dropped");
                let old = std::mem::replace(&mut self.block, next);
                if old.len() == BLOCK {
                    // The helper may already have ended if the run is over.
                    let _ = spent.send(old);
                }
            }
        }
        self.next = 0;
    }
}

/// A helper thread, joined when dropped. It is the last field of
/// [`Source::Helper`], so the channels close first and end its loop.
struct Joined(Option<JoinHandle<()>>);

impl Drop for Joined {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            let _ = thread.join();
        }
    }
}

impl<T> std::fmt::Debug for Ahead<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let maker = match self.source {
            Source::Here(_) => Maker::Here,
            Source::Helper { .. } => Maker::Helper,
        };
        f.debug_struct("Ahead")
            .field("maker", &maker)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter's sequence, `n` draws of it, made by `maker`.
    fn counted(maker: Maker, n: usize) -> Vec<u64> {
        let mut count = 0u64;
        let mut seq = Ahead::new(maker, move |block: &mut [u64]| {
            for slot in block {
                *slot = count;
                count += 1;
            }
        });
        (0..n).map(|_| seq.draw()).collect()
    }

    #[test]
    fn both_makers_give_the_sequence_in_order() {
        // Across several blocks, with recycled blocks refilled by the helper.
        let n = BLOCK * (BLOCKS_AHEAD + 5) + 17;
        let expected: Vec<u64> = (0..n as u64).collect();
        assert_eq!(counted(Maker::Here, n), expected);
        assert_eq!(counted(Maker::Helper, n), expected);
    }

    #[test]
    fn peek_sees_the_next_draws_of_the_block() {
        let mut seq = Ahead::new(Maker::Helper, |block: &mut [u32]| {
            for (i, slot) in block.iter_mut().enumerate() {
                *slot = i as u32;
            }
        });
        assert_eq!(seq.draw(), 0);
        assert_eq!(seq.peek(1), Some(1));
        assert_eq!(seq.peek(4), Some(4));
        assert_eq!(seq.peek(BLOCK), None);
        assert_eq!(seq.draw(), 1);
    }

    #[test]
    fn a_dropped_sequence_ends_its_helper() {
        // A helper blocked on a full channel must end: dropping joins it.
        let mut seq = Ahead::new(Maker::Helper, |block: &mut [u8]| block.fill(7));
        assert_eq!(seq.draw(), 7);
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(seq);
    }
}
