#include "core/work_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>

namespace depot {
namespace {

std::vector<std::function<void()>> counting_tasks(std::atomic<int>& count, int n) {
  std::vector<std::function<void()>> tasks;
  for (int i = 0; i < n; ++i) tasks.push_back([&count] { count++; });
  return tasks;
}

TEST(WorkPool, RunsEveryTaskOnceAndWaitsForAll) {
  for (unsigned threads : {0u, 1u, 3u}) {
    WorkPool pool(threads);
    EXPECT_EQ(pool.threads(), threads);
    std::atomic<int> count{0};
    pool.run_all(counting_tasks(count, 1000));
    EXPECT_EQ(count.load(), 1000) << threads;
    pool.run_all({});
  }
}

TEST(WorkPool, TasksRunOnThePoolAndOnTheCaller) {
  WorkPool pool(2);
  std::mutex mu;
  std::set<std::thread::id> seen;
  std::atomic<int> started{0};
  std::vector<std::function<void()>> tasks;
  // Three tasks that wait for one another can finish only on three lanes at once.
  for (int i = 0; i < 3; ++i) {
    tasks.push_back([&] {
      {
        std::lock_guard lock(mu);
        seen.insert(std::this_thread::get_id());
      }
      started++;
      while (started.load() < 3) std::this_thread::yield();
    });
  }
  pool.run_all(std::move(tasks));
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_TRUE(seen.count(std::this_thread::get_id()));
}

TEST(WorkPool, ConcurrentCallersShareThePool) {
  WorkPool pool(2);
  std::atomic<int> a{0}, b{0};
  std::thread other([&] { pool.run_all(counting_tasks(b, 500)); });
  pool.run_all(counting_tasks(a, 500));
  other.join();
  EXPECT_EQ(a.load(), 500);
  EXPECT_EQ(b.load(), 500);
}

TEST(WorkPool, AThrowingTaskIsRethrownAfterTheWholeBatch) {
  for (unsigned threads : {0u, 2u}) {
    WorkPool pool(threads);
    std::atomic<int> count{0};
    auto tasks = counting_tasks(count, 50);
    tasks.insert(tasks.begin() + 10, [] { throw std::runtime_error("boom"); });
    EXPECT_THROW(pool.run_all(std::move(tasks)), std::runtime_error);
    EXPECT_EQ(count.load(), 50) << threads;  // every other task ran to the end first
    pool.run_all(counting_tasks(count, 5));     // the pool still works
    EXPECT_EQ(count.load(), 55);
  }
}

}  // namespace
}  // namespace depot
