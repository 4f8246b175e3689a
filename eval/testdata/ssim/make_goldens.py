#!/usr/bin/python3
"""Makes the SSIM and histogram-matching goldens of eval's tests (run once;
the tests read the committed files and need no Python).

For each pair k: a_k.png, b_k.png (8-bit RGB) and, in golden.json, the
luminance SSIM skimage gives: Y = 0.299 R + 0.587 G + 0.114 B on values
/255, then structural_similarity(ya, yb, data_range=1, gaussian_weights=True,
sigma=1.5, use_sample_covariance=False). hist_k.png is
a_k matched to b_k's histogram per channel by the function that
skimage.exposure.match_histograms(a_k, b_k, channel_axis=-1) applies to each
channel (_match_cumulative_cdf), rounded to the nearest level (skimage 0.19's
match_histograms itself truncates the floats into a uint8 array)."""
import json, os
import numpy as np
from PIL import Image
import skimage
from skimage.metrics import structural_similarity
from skimage.exposure.histogram_matching import _match_cumulative_cdf

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(12)

def lum(im):
    f = im.astype(np.float64) / 255
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]

def blur(im):
    f = im.astype(np.float64)
    out = f.copy()
    out[1:-1, 1:-1] = (f[:-2, 1:-1] + f[2:, 1:-1] + f[1:-1, :-2] + f[1:-1, 2:] + f[1:-1, 1:-1]) / 5
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)

pairs = []
noise = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
pairs.append((noise, blur(noise)))                                   # texture vs its blur
yy, xx = np.mgrid[0:17, 0:13]
grad = np.stack([xx * 19, yy * 15, (xx + yy) * 8], -1).clip(0, 255).astype(np.uint8)
pairs.append((grad, 255 - grad))                                     # smallest size, inverted
day = np.asarray(Image.open(os.path.join(here, 'src_day.png')).convert('RGB'))
night = np.asarray(Image.open(os.path.join(here, 'src_night.png')).convert('RGB'))
pairs.append((day, night))                                           # a synthetic scene by day and night
dark = (day.astype(np.float64) * 0.25).astype(np.uint8)
pairs.append((dark, night))                                          # darkened day vs night
pairs.append((night, night))                                         # identical

gold = {'skimage': skimage.__version__, 'pairs': []}
for k, (a, b) in enumerate(pairs):
    Image.fromarray(a).save(os.path.join(here, f'a_{k}.png'))
    Image.fromarray(b).save(os.path.join(here, f'b_{k}.png'))
    s = structural_similarity(lum(a), lum(b), data_range=1, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False)
    m = np.stack([_match_cumulative_cdf(a[..., c], b[..., c]) for c in range(3)], -1)
    Image.fromarray(np.clip(np.rint(m), 0, 255).astype(np.uint8)).save(os.path.join(here, f'hist_{k}.png'))
    gold['pairs'].append({'a': f'a_{k}.png', 'b': f'b_{k}.png', 'ssim': float(s), 'hist': f'hist_{k}.png'})
with open(os.path.join(here, 'golden.json'), 'w') as f:
    json.dump(gold, f, indent=1)
    f.write('\n')
print(json.dumps(gold['pairs'], indent=0))
