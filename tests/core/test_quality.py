"""The sample-quality floor and its band, against independent computations: a numpy SWD
of numpy draws of the exact flow's end point (the data convolved with N(0, sigma_min^2 I)),
a perfect sampler that reads 1x within the stated band, and a bad one that reads above it."""

import numpy as np
import pytest
import torch
from reference_swd import swd

from flowviz.core import data as datasets
from flowviz.core import metrics, quality

SIGMAS = [0.0, 0.2, 0.5]


@pytest.fixture(scope="module")
def moons():
    return datasets.preset("moons", 400, seed=3).numpy()


def _perfect(data, sigma, n, rng):
    """n draws of data convolved with N(0, sigma^2 I), numpy's generator."""
    return data[rng.integers(0, len(data), n)] + sigma * rng.standard_normal((n, 2))


@pytest.mark.parametrize("sigma", SIGMAS)
def test_the_floor_is_the_mean_distance_of_the_exact_end_point(moons, sigma):
    """Mean of 64 numpy draws with numpy's SWD; the two differ by their sampling errors."""
    n = quality.sample_count(len(moons))
    f = quality.floor(data=moons, n=n, sigma_min=sigma)
    rng = np.random.default_rng(5)
    ours = np.array([swd(_perfect(moons, sigma, n, rng), moons, seed=99) for _ in range(64)])
    err = np.hypot(ours.std() / 8, f.spread / np.sqrt(f.draws))
    assert abs(f.mean - ours.mean()) <= 3 * err + 0.02 * ours.mean()  # + directions' bias
    assert f.spread == pytest.approx(ours.std(ddof=1), rel=0.5)


def test_the_floor_grows_with_sigma_min_as_the_end_point_blurs(moons):
    """The issue's figures: against the old bootstrap floor a perfect sampler read
    1.22-1.29x at sigma_min 0.2 and 2.7-3.4x at 0.5."""
    n = quality.sample_count(len(moons))
    f = [quality.floor(data=moons, n=n, sigma_min=s).mean for s in SIGMAS]
    assert f[0] < f[1] < f[2] and f[2] > 2 * f[0]


def test_the_projected_distance_is_metrics_sliced_wasserstein(moons):
    x = quality.endpoint(data=moons, n=300, sigma_min=0.1, seed=4)
    got = quality._Projected(moons).distance(x.numpy())
    assert got == pytest.approx(metrics.sliced_wasserstein(x, torch.from_numpy(moons)), rel=1e-12)


@pytest.mark.parametrize("sigma", SIGMAS)
def test_a_perfect_sampler_reads_one_within_the_band(moons, sigma):
    """12 readouts of independent perfect samplers: their mean is 1 within the band (the
    floor's own error is common to all 12), and the band's standard deviation (half of it)
    covers their seed-to-seed scatter without being several times too wide."""
    n = quality.sample_count(len(moons))
    f = quality.floor(data=moons, n=n, sigma_min=sigma)
    rng = np.random.default_rng(11)
    reads = []
    for _ in range(12):
        x = torch.from_numpy(
            _perfect(moons, sigma, n * quality.set_count(len(moons)), rng).astype(np.float32)
        )
        reads.append(quality.score(samples=x, data=moons) / f.mean)
    one_sd = f.band() / 2
    assert abs(np.mean(reads) - 1) <= f.band()
    assert 0.4 * one_sd <= np.std(reads, ddof=1) <= 1.25 * one_sd
    assert all(abs(r - 1) <= 1.5 * f.band() for r in reads)


@pytest.mark.parametrize("sigma", SIGMAS)
def test_a_bad_sampler_reads_clearly_above_the_band(moons, sigma):
    """Too much blur (sigma + 0.25) reads above the range a perfect sampler reads (1 +-
    band), and no structure at all (a Gaussian of the data's mean and covariance) far
    above it."""
    n = quality.sample_count(len(moons))
    f = quality.floor(data=moons, n=n, sigma_min=sigma)
    rng = np.random.default_rng(12)
    blurred = _perfect(moons, sigma + 0.25, n * quality.set_count(len(moons)), rng)
    cov = np.cov(moons.T) + sigma**2 * np.eye(2)
    gauss = rng.multivariate_normal(moons.mean(0), cov, n * quality.set_count(len(moons)))
    for bad, above in ((blurred, 1), (gauss, 3)):
        r = quality.score(samples=torch.from_numpy(bad.astype(np.float32)), data=moons) / f.mean
        assert r > 1 + above * f.band()


def test_the_readout_of_a_drawn_source_ends_on_the_blurred_data():
    """A drawn source moved by a constant velocity (target = source + d): the flow ends
    on source + d + sigma noise, i.e. the data (source + d) convolved with N(0, sigma^2):
    the readout reads 1x within the band."""
    rng = np.random.default_rng(2)
    source = rng.uniform(-1, 1, (300, 2)).astype(np.float32)
    d = np.array([1.5, -0.5], np.float32)
    target = source + d
    sigma = 0.3
    f = quality.floor(data=target, n=quality.sample_count(len(target)), sigma_min=sigma)
    vel = torch.from_numpy(d)
    r = quality.readout(
        velocity=lambda x, t: vel.expand_as(x), data=target, source=source, sigma_min=sigma
    )
    assert abs(r / f.mean - 1) <= 1.5 * f.band()


def test_the_band_is_zero_without_a_floor():
    assert quality.Floor(mean=0.0, spread=0.0, draws=4).band() == 0.0
    pts = np.zeros((30, 2), np.float32)
    assert quality.floor(data=pts, n=200).mean == 0.0
    assert quality.floor(data=pts, n=200, sigma_min=0.2).mean > 0.05  # blurred: a floor


def test_score_refuses_the_wrong_number_of_samples(moons):
    with pytest.raises(ValueError, match="sets"):
        quality.score(samples=torch.zeros(7, 2), data=moons)
