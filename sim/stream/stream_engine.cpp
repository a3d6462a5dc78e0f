#include "sim/stream/stream_engine.h"

#include <cassert>
#include <deque>

#include "sim/event_queue.h"

namespace ppsim {
namespace {

enum EventKind : OpId { kServiceDone = 0, kTransferDone = 1, kArrival = 2 };

struct StageState {
  std::deque<std::int64_t> waiting;     // reached the stage, not started
  std::deque<std::int64_t> in_transit;  // sent here, still on the link (they hold a place)
  std::deque<std::int64_t> serving;     // the batch in service, or finished and blocked (FIFO)
  bool done = false;                    // `serving` has finished its service (blocked while it stays)
  // A batch in service holds one place, as a single item would.
  std::int64_t occupancy() const {
    return static_cast<std::int64_t>(waiting.size() + in_transit.size()) + (serving.empty() ? 0 : 1);
  }
};

class StreamEngine {
 public:
  explicit StreamEngine(const StreamConfig& c) : c_(c), P_(c.stages), stage_(P_) {
    run_.stages = P_;
    run_.measured_begin = c.warmup_items;
    run_.measured_end = c.warmup_items + c.items;
    for (int k = 0; k < P_; ++k) service_.emplace_back(c.jitter, c.seed, static_cast<std::uint64_t>(k));
    arrivals_rng_.emplace_back(JitterSpec{}, c.seed, 1'000'003);
  }

  StreamRun run() {
    // Items admitted after the measured ones keep the pipeline loaded while those finish (the run
    // stops at the last measured item's finish), so the measured ones all see a steady state.
    if (c_.arrivals) events_.push(0, kArrival * P_);
    progress(0);
    while (!events_.empty()) {
      const Event e = events_.pop();
      const int k = static_cast<int>(e.op % P_);
      switch (static_cast<EventKind>(e.op / P_)) {
        case kServiceDone:
          stage_[k].done = true;
          for (std::int64_t item : stage_[k].serving) run_.end[run_.at(item, k)] = e.time;
          break;
        case kTransferDone: {
          const std::int64_t item = stage_[k].in_transit.front();
          stage_[k].in_transit.pop_front();
          reach(item, k, e.time);
          break;
        }
        case kArrival: arrive(e.time); break;
      }
      progress(e.time);
      if (finished_ >= run_.measured_end) break;
    }
    assert(finished_ >= run_.measured_end);
    run_.stop = run_.finish[run_.measured_end - 1];
    return std::move(run_);
  }

 private:
  std::int64_t new_item(TimeNs arrival) {
    const std::int64_t i = run_.items();
    run_.arrival.push_back(arrival);
    run_.admit.push_back(-1);
    run_.finish.push_back(-1);
    for (auto* v : {&run_.enter, &run_.start, &run_.end, &run_.leave}) v->resize(v->size() + P_, -1);
    return i;
  }

  void arrive(TimeNs now) {
    pending_.push_back(new_item(now));
    // The next arrival: a fixed interval, or an exponential one (Poisson arrivals).
    const double gap = c_.arrivals->process == ArrivalProcess::Fixed
                           ? static_cast<double>(c_.arrivals->interval)
                           : arrivals_rng_[0].exponential(static_cast<double>(c_.arrivals->interval));
    if (run_.items() < item_limit()) events_.push(now + static_cast<TimeNs>(std::llround(gap)), kArrival * P_);
  }

  // Items made after the measured ones only load the pipeline behind them (first come, first
  // served: they never delay a measured item). An over-capacity run would make them without end:
  // arrivals faster than the pipeline, or a saturated source whose first stage takes no time (it
  // made items at one instant forever, fuzz_schedule_yaml), so they stop past this many.
  std::int64_t item_limit() const { return 2 * run_.measured_end + 1000; }

  bool room(int k) const {
    const StageState& s = stage_[k];
    if (c_.queue_capacity[k] == kUnbounded) return true;
    return s.occupancy() < c_.queue_capacity[k] + 1;
  }

  // Whether the source may admit one more item now.
  bool can_admit() const {
    if (c_.max_outstanding && admitted_ - finished_ >= *c_.max_outstanding) return false;
    if (c_.arrivals) return !pending_.empty() && room(0);
    if (run_.items() >= item_limit()) return false;
    // A saturated source: with no cap and an unbounded queue it feeds stage 0 only when it is empty.
    if (!c_.max_outstanding && c_.queue_capacity[0] == kUnbounded) return stage_[0].occupancy() == 0;
    return room(0);
  }

  void reach(std::int64_t item, int k, TimeNs now) {
    run_.enter[run_.at(item, k)] = now;
    stage_[k].waiting.push_back(item);
  }

  // Moves everything that can move at `now`: finished items on, idle stages to work, admissions.
  void progress(TimeNs now) {
    for (bool changed = true; changed;) {
      changed = false;
      for (int k = P_ - 1; k >= 0; --k) {
        StageState& s = stage_[k];
        // A finished batch leaves item by item, in order, as the next queue has room.
        while (!s.serving.empty() && s.done && (k == P_ - 1 || room(k + 1))) {
          const std::int64_t item = s.serving.front();
          s.serving.pop_front();
          if (k == P_ - 1) {
            run_.leave[run_.at(item, k)] = now;
            run_.finish[item] = now;
            ++finished_;
            changed = true;
          } else {
            run_.leave[run_.at(item, k)] = now;
            if (c_.hop(k) == 0) {
              reach(item, k + 1, now);
            } else {
              stage_[k + 1].in_transit.push_back(item);
              events_.push(now + c_.hop(k), kTransferDone * P_ + (k + 1));
            }
            changed = true;
          }
        }
        if (s.serving.empty() && !s.waiting.empty()) {
          // Up to batch.max waiting items as one op (1 without batching), started at once.
          while (!s.waiting.empty() && static_cast<int>(s.serving.size()) < c_.batch.max) {
            s.serving.push_back(s.waiting.front());
            s.waiting.pop_front();
            run_.start[run_.at(s.serving.back(), k)] = now;
          }
          s.done = false;
          const int b = static_cast<int>(s.serving.size());
          events_.push(now + service_[k].draw(batch_time(c_, k, b)), kServiceDone * P_ + k);
          changed = true;
        }
      }
      while (can_admit()) {
        std::int64_t item;
        if (c_.arrivals) {
          item = pending_.front();
          pending_.pop_front();
        } else {
          item = new_item(now);
        }
        run_.admit[item] = now;
        ++admitted_;
        reach(item, 0, now);
        changed = true;
      }
    }
  }

  const StreamConfig& c_;
  int P_;
  std::vector<StageState> stage_;
  std::vector<OpTimeSampler> service_;
  std::vector<OpTimeSampler> arrivals_rng_;
  EventQueue events_;
  std::deque<std::int64_t> pending_;  // arrived, waiting for admission
  std::int64_t admitted_ = 0, finished_ = 0;
  StreamRun run_;
};

}  // namespace

StreamRun run_stream(const StreamConfig& config) { return StreamEngine(config).run(); }

}  // namespace ppsim
