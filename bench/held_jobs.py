"""A job asked for as its button does, held back, then carried out as a worker does: the web
request and the run timed apart (export_bench.py, review_bench.py)."""
import time


class HeldJobs:
    """Replaces app.job_queue.submit for the process: runs are kept here instead of started."""

    def __init__(self) -> None:
        from app import job_queue

        self.held: list[int] = []
        job_queue.submit = self.held.append

    def ask(self, post, *args, **kwargs):
        """(the answer, the request's ms, the run it queued or None) of `post(*args, **kwargs)`."""
        self.held.clear()
        started = time.perf_counter()
        answer = post(*args, **kwargs)
        return answer, (time.perf_counter() - started) * 1000, (self.held[0] if self.held else None)

    @staticmethod
    def carry_out(app, run_id: int) -> float:
        """Carry out the run as a worker does; its seconds."""
        from app import job_queue

        started = time.perf_counter()
        with app.app_context():
            job_queue.perform(run_id)
        return time.perf_counter() - started
