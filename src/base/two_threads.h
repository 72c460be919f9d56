// Two pieces of work at once, for the scan's largest steps on a machine of two cores or more.
#pragma once

#include <algorithm>
#include <system_error>
#include <thread>
#include <utility>

namespace berth {

// Runs second() on another thread while first() runs on this one; both on this one, one after
// the other, when no thread can start (the process limit, or memory).
template <class A, class B>
void BesideEachOther(A&& first, B&& second) {
  std::thread t;
  try {
    t = std::thread(std::forward<B>(second));
  } catch (const std::system_error&) {
    first();
    second();
    return;
  }
  struct JoinOnExit {
    std::thread& t;
    ~JoinOnExit() { t.join(); }
  } join{t};
  first();
}

// Sorts [first, last) by `less`, the two sides of `below` at once: every element for which
// below() holds must sort before every element for which it does not. The partition is one
// pass; how even the sides are is the caller's choice of `below`.
template <class It, class Below, class Less>
void SortBesideEachOther(It first, It last, Below below, Less less) {
  const It mid = std::partition(first, last, below);
  BesideEachOther([&] { std::sort(first, mid, less); }, [&] { std::sort(mid, last, less); });
}

}  // namespace berth
