#pragma once
// What one rank receives from the others: activations and gradients keyed by what they are (kind,
// sending stage, micro-batch), so a rank takes exactly the tensor its next action needs whatever
// order they arrived in. Optionally bounded: a sender waits while `capacity` tensors are queued.
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>

#include "calibrate/cpu/layers.h"

namespace ppsim::cpu {

class Mailbox {
 public:
  using Key = std::tuple<int, int, int>;  // (0 = activation / 1 = gradient, sending stage, micro-batch)

  explicit Mailbox(int capacity = 0) : capacity_(capacity) {}

  void put(Key key, Tensor tensor, std::int64_t ready_ns = 0) {
    std::unique_lock lock(mutex_);
    if (capacity_ > 0) room_.wait(lock, [&] { return static_cast<int>(items_.size()) < capacity_; });
    items_.emplace(key, std::make_pair(std::move(tensor), ready_ns));
    arrived_.notify_all();
  }

  Tensor take(Key key, std::int64_t* ready_ns = nullptr) {
    std::unique_lock lock(mutex_);
    arrived_.wait(lock, [&] { return items_.count(key) != 0; });
    auto it = items_.find(key);
    Tensor t = std::move(it->second.first);
    if (ready_ns) *ready_ns = it->second.second;
    items_.erase(it);
    room_.notify_all();
    return t;
  }

 private:
  int capacity_;
  std::mutex mutex_;
  std::condition_variable arrived_, room_;
  std::map<Key, std::pair<Tensor, std::int64_t>> items_;
};

}  // namespace ppsim::cpu
