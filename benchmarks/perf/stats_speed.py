"""Bootstrap speed: segbench's vectorised resampling vs scipy.stats.bootstrap calling a
plain statistic once per resample (same data, same run).

    OMP_NUM_THREADS=1 python benchmarks/perf/stats_speed.py
"""
import time, numpy as np, scipy.stats as st
from benchmarks import stats as S
rng = np.random.default_rng(0)
n, T = 100, 99
sumR = rng.integers(500, 1500, (n, 1)) * np.ones((1, T))
curve = 0.6 - 0.05 * (np.arange(T) - T // 2) ** 2 / T
cntR = np.round(np.clip(curve + rng.normal(0, .08, (n, 1)) + rng.normal(0, .01, (n, T)), 0, 1) * sumR)
plain = lambda cntR, sumR: (cntR.sum(0) / sumR.sum(0)).max()
def med(f, r=5):
    ts = []
    for _ in range(r):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return np.median(ts)
for method in ("percentile", "BCa"):
    ours = med(lambda: S.bootstrap_ci(S.covering_ods, (cntR, sumR), method=method))
    peer = med(lambda: S.bootstrap_ci(plain, {"cntR": cntR, "sumR": sumR}, method=method), 3)
    print(f"covering_ods n={n} T={T} 2000 resamples {method}: ours {ours*1e3:.1f} ms, "
          f"peer (scipy.stats.bootstrap, statistic per resample) {peer*1e3:.1f} ms, ratio {peer/ours:.1f}x")
ours = med(lambda: S.paired_bootstrap(S.covering_ods, (cntR, sumR), (cntR * 0.98, sumR)))
print(f"paired covering_ods: {ours*1e3:.1f} ms")
C = rng.integers(0, 1000, (100, 11, 11))
ours = med(lambda: S.bootstrap_ci(S.miou, C))
from benchmarks.metrics.semantic import mean_iou
peer = med(lambda: S.bootstrap_ci(lambda confusions: mean_iou(confusions.sum(0)), (C,)), 3)
print(f"miou n=100 C=11: ours {ours*1e3:.1f} ms, peer {peer*1e3:.1f} ms, ratio {peer/ours:.1f}x")
