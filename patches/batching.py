"""Work of many greenlets done together: one greenlet serves what they submit."""
import threading


class Job:
    __slots__ = ("args", "done", "result", "error")

    def __init__(self, args, done=None):
        self.args = args
        # threading is gevent's own in the gevent process (monkey patched).
        self.done = done or threading.Event()
        self.result = None
        self.error = None


class Batcher:
    """``run(*args)`` waits while one greenlet calls ``serve(jobs)`` for
    every job submitted until it runs; a subclass defines ``serve``, which
    sets each job's ``result`` or ``error``."""

    timeout = 20
    what = "the batch"
    # Seconds the serving greenlet lets jobs gather before it starts.
    gather = 0

    def __init__(self, dbname, spawn=None):
        self.dbname = dbname
        self._spawn = spawn
        self._pending = []
        # Set once the jobs pending now are done: one event wakes them all.
        self._done = threading.Event()
        self._running = False

    def run(self, *args, timeout=None):
        job = self.submit(*args)
        self._start()
        timeout = self.timeout if timeout is None else timeout
        if not job.done.wait(timeout):
            raise TimeoutError(
                "%s of %s was not done in %s s" % (self.what, self.dbname, timeout)
            )
        if job.error is not None:
            raise job.error
        return job.result

    def submit(self, *args):
        job = Job(args, self._done)
        self._pending.append(job)
        return job

    def queue(self, job):
        """Serve ``job``, which has its own ``done`` event, with the next
        batch; return at once (for a caller that may not wait)."""
        self._pending.append(job)
        self._start()

    def _start(self):
        if not self._running:
            self._running = True
            (self._spawn or _gevent_spawn)(self._run, self.gather)

    def flush(self):
        """Serve every job submitted so far."""
        jobs, self._pending = self._pending, []
        done, self._done = self._done, threading.Event()
        try:
            self.serve(jobs)
        except Exception as error:  # pylint: disable=broad-except
            for job in jobs:
                job.error = error
        done.set()
        for job in jobs:
            if job.done is not done:
                job.done.set()

    def serve(self, jobs):
        raise NotImplementedError

    def _run(self):
        try:
            while self._pending:
                self.flush()
        finally:
            self._running = False


def _gevent_spawn(function, gather=0):
    import gevent  # pylint: disable=import-outside-toplevel

    def after_the_others():
        # At least, let the greenlets ready now submit their jobs.
        gevent.sleep(gather)
        function()

    gevent.spawn(after_the_others)
