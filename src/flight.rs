//! Single flight: one piece of work whose one result every waiting caller receives.
//!
//! The session runs at most one login, one server check and one logout at a time; callers that
//! arrive while one is under way wait for it instead of starting another (no duplicate `wx.login`,
//! no code sent twice, one server call for a double tap). Single-threaded by design, like wasm.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

struct Slot<T> {
    result: Option<T>,
    waiters: Vec<Waker>,
}

/// The shared outcome of one piece of work in flight.
pub struct Flight<T> {
    slot: Rc<RefCell<Slot<T>>>,
}

impl<T> Clone for Flight<T> {
    fn clone(&self) -> Self {
        Flight { slot: Rc::clone(&self.slot) }
    }
}

impl<T: Clone> Flight<T> {
    /// A flight with no result yet.
    pub fn new() -> Self {
        Flight { slot: Rc::new(RefCell::new(Slot { result: None, waiters: Vec::new() })) }
    }

    /// Lands the flight: stores the result and wakes every waiter. Only the first landing counts.
    pub fn land(&self, result: T) {
        let waiters = {
            let mut slot = self.slot.borrow_mut();
            if slot.result.is_some() {
                return;
            }
            slot.result = Some(result);
            std::mem::take(&mut slot.waiters)
        };
        for waker in waiters {
            waker.wake();
        }
    }

    /// Waits for the result.
    pub fn wait(&self) -> Wait<T> {
        Wait { flight: self.clone() }
    }
}

impl<T: Clone> Default for Flight<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Future returned by [`Flight::wait`].
pub struct Wait<T> {
    flight: Flight<T>,
}

impl<T: Clone> Future for Wait<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.flight.slot.borrow_mut();
        match &slot.result {
            Some(result) => Poll::Ready(result.clone()),
            None => {
                if !slot.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    slot.waiters.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// Held by the caller doing the work. If that work is abandoned before it lands (its future
/// dropped), the guard lands `fallback`, so no waiter is left with a promise that never settles.
pub struct Pilot<'a, T: Clone> {
    flight: Flight<T>,
    seat: &'a RefCell<Option<Flight<T>>>,
    fallback: Option<T>,
}

impl<'a, T: Clone> Pilot<'a, T> {
    /// Starts a flight in `seat` (which must be empty) with a result for the abandoned case.
    pub fn board(seat: &'a RefCell<Option<Flight<T>>>, fallback: T) -> Self {
        let flight = Flight::new();
        *seat.borrow_mut() = Some(flight.clone());
        Pilot { flight, seat, fallback: Some(fallback) }
    }

    /// Lands the flight with the real result, frees the seat, and hands the result back.
    pub fn land(mut self, result: T) -> T {
        self.fallback = None;
        self.free_seat();
        self.flight.land(result.clone());
        result
    }

    fn free_seat(&self) {
        let mut seat = self.seat.borrow_mut();
        if seat.as_ref().is_some_and(|f| Rc::ptr_eq(&f.slot, &self.flight.slot)) {
            *seat = None;
        }
    }
}

impl<T: Clone> Drop for Pilot<'_, T> {
    fn drop(&mut self) {
        if let Some(fallback) = self.fallback.take() {
            self.free_seat();
            self.flight.land(fallback);
        }
    }
}

/// The flight currently in `seat`, if any.
pub fn in_flight<T>(seat: &RefCell<Option<Flight<T>>>) -> Option<Flight<T>> {
    seat.borrow().clone()
}
