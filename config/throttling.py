"""REST framework's throttles, counting exactly under concurrent requests.

REST framework keeps each client's recent request times in the cache and, per
request, reads them, appends one and writes them back. Two requests at once
(two workers, two threads) both read the same list and one of the two is
lost: with a handful of parallel requests a client got well past its rate.
Here that read-modify-write holds a lock, taken in the same cache with `add`
(SET NX in Redis, under a mutex in locmem), so the count is exact whatever
the number of processes sharing the cache. Rates, scopes, cache keys and the
429 answers are REST framework's.
"""

import time

from rest_framework import throttling

# Longest a lock outlives a process that died holding it.
LOCK_SECONDS = 5
# Longest a request waits for the lock; past that it is refused (429) rather than let through.
LOCK_WAIT_SECONDS = 2.0
LOCK_POLL_SECONDS = 0.002


class LockedRateThrottle(throttling.SimpleRateThrottle):
    """SimpleRateThrottle whose check-and-count of a client is one step for all processes."""

    lock_timed_out = False

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        lock = f"{key}:lock"
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while not self.cache.add(lock, 1, LOCK_SECONDS):
            if time.monotonic() > deadline:
                self.lock_timed_out = True
                return False
            time.sleep(LOCK_POLL_SECONDS)
        try:
            return super().allow_request(request, view)
        finally:
            self.cache.delete(lock)

    def wait(self):
        if self.lock_timed_out:  # another request of this client holds the count: try again shortly
            return 1
        return super().wait()


# REST framework's throttles, each counting under the lock. Their own
# allow_request (ScopedRateThrottle picks its rate from the view) runs first.


class AnonRateThrottle(throttling.AnonRateThrottle, LockedRateThrottle):
    pass


class UserRateThrottle(throttling.UserRateThrottle, LockedRateThrottle):
    pass


class ScopedRateThrottle(throttling.ScopedRateThrottle, LockedRateThrottle):
    pass
