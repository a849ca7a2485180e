"""Suite-wide set-up.

BLAS is pinned to one thread: on a shared 2-core machine a second BLAS
thread made the MNIST examples several times slower, not faster, and one
thread keeps timings of the suite steady.
"""

from threadpoolctl import threadpool_limits

threadpool_limits(limits=1, user_api="blas")
