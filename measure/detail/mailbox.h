#pragma once
// What one rank receives from the others: tensors keyed by the op that produced them, so a rank
// takes exactly the tensor its next op needs whatever order they arrived in. Optionally bounded (a
// sender waits while `capacity` tensors are queued). Every wait has a deadline, and a run that
// fails elsewhere wakes every waiter: no thread hangs.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>

#include "calibrate/cpu/layers.h"
#include "sim/timeline.h"

namespace ppsim::cpu {

struct Delivery {
  Tensor tensor;
  TimeNs ready_ns = 0;  // on a virtual clock: when it arrived
};

// Shared by the mailboxes of one run: set once something failed, so waiters stop.
struct RunAbort {
  std::atomic<bool> aborted{false};
};

class Mailbox {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Wait { Done, TimedOut, Aborted };

  Mailbox(int capacity, RunAbort& abort) : capacity_(capacity), abort_(abort) {}

  Wait put(OpId producer, Delivery d, Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (capacity_ > 0 && !room_.wait_until(lock, deadline, [&] {
          return aborted() || static_cast<int>(items_.size()) < capacity_;
        }))
      return Wait::TimedOut;
    if (aborted()) return Wait::Aborted;
    items_.emplace(producer, std::move(d));
    arrived_.notify_all();
    return Wait::Done;
  }

  Wait take(OpId producer, Delivery& out, Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (!arrived_.wait_until(lock, deadline, [&] { return aborted() || items_.count(producer) != 0; }))
      return Wait::TimedOut;
    if (aborted()) return Wait::Aborted;
    auto it = items_.find(producer);
    out = std::move(it->second);
    items_.erase(it);
    room_.notify_all();
    return Wait::Done;
  }

  // Wakes every waiter after RunAbort::aborted was set.
  void wake() {
    std::lock_guard lock(mutex_);
    arrived_.notify_all();
    room_.notify_all();
  }

 private:
  bool aborted() const { return abort_.aborted.load(); }
  int capacity_;
  RunAbort& abort_;
  std::mutex mutex_;
  std::condition_variable arrived_, room_;
  std::map<OpId, Delivery> items_;
};

}  // namespace ppsim::cpu
