"""`jobcontracts load API`: the contract judged on the traffic of many concurrent
clients, driven by Locust (its users, its local or distributed runners).

Locust monkey-patches the process with gevent when it is imported, so no
module of this package imports it at module level except the ones a load
process runs (`run.py`, `users.py`, `locustfile.py`, `__main__.py`); the
command line (`cli.py`), the judging (`judging.py`) and the simulator side
(`server.py`, `racing.py`) stay importable anywhere.
"""
