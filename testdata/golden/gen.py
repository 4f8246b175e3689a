#!/usr/bin/python3
"""Regenerate ganrt's PyTorch parity goldens (forward outputs, training steps, key lists).

    /usr/bin/python3 testdata/golden/gen.py

Uses Debian's python3-torch (1.13), CPU, float32, two threads, fixed seeds; running it
twice gives byte-identical files. The Go tests only read the files this script writes;
they never run Python. See README.md in this folder for the file layout.

The networks below re-implement, with the same module structure (hence the same
state-dict keys), the reference code:
  * pytorch-CycleGAN-and-pix2pix models/networks.py (get_norm_layer, init_weights,
    ResnetGenerator/ResnetBlock, UnetGenerator/UnetSkipConnectionBlock,
    NLayerDiscriminator, PixelDiscriminator, GANLoss), models/cycle_gan_model.py
    (optimize_parameters), util/image_pool.py;
  * StarGAN v1 model.py (Generator/ResidualBlock, Discriminator) and solver.py (train).

Instance norm: every golden output is computed with per-image statistics. CycleGAN's
InstanceNorm2d has track_running_stats=False, so eval() and train() agree. StarGAN's
InstanceNorm2d has track_running_stats=True, so in eval() PyTorch would use the running
statistics; the reference solver never calls eval(), so StarGAN outputs here are computed in
train() mode (per-image statistics). The saved running statistics are deliberately
perturbed so that an implementation that uses them fails the comparison.

Batch norm (cyclegan_train_bn_*): train() mode normalizes with batch statistics and updates
the running statistics on every module call; eval() normalizes with the running statistics.
"""
import collections
import functools
import inspect
import itertools
import json
import os
import random
import re
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FORMAT = "ganrt-golden-v1"
TORCH = torch.__version__

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


# ----------------------------------------------------------------------------------------
# CycleGAN networks (models/networks.py)
# ----------------------------------------------------------------------------------------

def get_norm_layer(norm_type="instance"):
    if norm_type == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm_type == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if norm_type == "instance_legacy":
        # What the code did when the published pretrained models were trained: the state
        # dicts then carry running_mean / running_var / num_batches_tracked.
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=True)
    if norm_type == "none":
        return lambda c: nn.Identity()
    raise ValueError(norm_type)


def uses_bias(norm_layer):
    if isinstance(norm_layer, functools.partial):
        return norm_layer.func == nn.InstanceNorm2d
    return norm_layer == nn.InstanceNorm2d


def init_weights(net, init_type="normal", gain=0.02):
    assert init_type == "normal"

    def init_func(m):
        classname = m.__class__.__name__
        if hasattr(m, "weight") and (classname.find("Conv") != -1 or classname.find("Linear") != -1):
            nn.init.normal_(m.weight.data, 0.0, gain)
            if hasattr(m, "bias") and m.bias is not None:
                nn.init.constant_(m.bias.data, 0.0)
        elif classname.find("BatchNorm2d") != -1:
            nn.init.normal_(m.weight.data, 1.0, gain)
            nn.init.constant_(m.bias.data, 0.0)

    net.apply(init_func)
    return net


class ResnetBlock(nn.Module):
    def __init__(self, dim, norm_layer, use_dropout, use_bias):
        super().__init__()
        cb = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=use_bias), norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            cb += [nn.Dropout(0.5)]
        cb += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=use_bias), norm_layer(dim)]
        self.conv_block = nn.Sequential(*cb)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False, n_blocks=6):
        super().__init__()
        use_bias = uses_bias(norm_layer)
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, padding=0, bias=use_bias), norm_layer(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2 ** i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=use_bias),
                      norm_layer(ngf * mult * 2), nn.ReLU(True)]
        for i in range(n_blocks):
            model += [ResnetBlock(ngf * 4, norm_layer, use_dropout, use_bias)]
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [nn.ConvTranspose2d(ngf * mult, int(ngf * mult / 2), 3, stride=2, padding=1,
                                         output_padding=1, bias=use_bias),
                      norm_layer(int(ngf * mult / 2)), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


class UnetSkipConnectionBlock(nn.Module):
    # The in-place LeakyReLU that starts every non-outermost block overwrites the block's
    # input x before torch.cat reads it, so the skip path carries LeakyReLU(0.2)(x). The
    # only consumer of the concatenation is the parent's ReLU, and ReLU(LeakyReLU(x)) ==
    # ReLU(x) (gradients too), so this equals concat(x, block(x)) as REFERENCE.md says.
    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False,
                 innermost=False, norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        use_bias = uses_bias(norm_layer)
        if input_nc is None:
            input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = norm_layer(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = norm_layer(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1)
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
            if use_dropout:
                model += [nn.Dropout(0.5)]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm_layer=nn.BatchNorm2d,
                 use_dropout=False):
        super().__init__()
        B = functools.partial(UnetSkipConnectionBlock, norm_layer=norm_layer)
        blk = B(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            blk = B(ngf * 8, ngf * 8, submodule=blk, use_dropout=use_dropout)
        blk = B(ngf * 4, ngf * 8, submodule=blk)
        blk = B(ngf * 2, ngf * 4, submodule=blk)
        blk = B(ngf, ngf * 2, submodule=blk)
        self.model = B(output_nc, ngf, input_nc=input_nc, submodule=blk, outermost=True)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d):
        super().__init__()
        use_bias = uses_bias(norm_layer)
        seq = [nn.Conv2d(input_nc, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        nf_mult = 1
        for n in range(1, n_layers):
            nf_prev, nf_mult = nf_mult, min(2 ** n, 8)
            seq += [nn.Conv2d(ndf * nf_prev, ndf * nf_mult, 4, stride=2, padding=1, bias=use_bias),
                    norm_layer(ndf * nf_mult), nn.LeakyReLU(0.2, True)]
        nf_prev, nf_mult = nf_mult, min(2 ** n_layers, 8)
        seq += [nn.Conv2d(ndf * nf_prev, ndf * nf_mult, 4, stride=1, padding=1, bias=use_bias),
                norm_layer(ndf * nf_mult), nn.LeakyReLU(0.2, True)]
        seq += [nn.Conv2d(ndf * nf_mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)


class PixelDiscriminator(nn.Module):
    def __init__(self, input_nc, ndf=64, norm_layer=nn.BatchNorm2d):
        super().__init__()
        use_bias = uses_bias(norm_layer)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, 1, stride=1, padding=0), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, stride=1, padding=0, bias=use_bias), norm_layer(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1, stride=1, padding=0, bias=use_bias))

    def forward(self, x):
        return self.net(x)


class GANLoss(nn.Module):
    def __init__(self, gan_mode, target_real_label=1.0, target_fake_label=0.0):
        super().__init__()
        self.register_buffer("real_label", torch.tensor(target_real_label))
        self.register_buffer("fake_label", torch.tensor(target_fake_label))
        self.gan_mode = gan_mode
        self.loss = {"lsgan": nn.MSELoss(), "vanilla": nn.BCEWithLogitsLoss()}.get(gan_mode)

    def __call__(self, prediction, target_is_real):
        if self.gan_mode in ("lsgan", "vanilla"):
            t = (self.real_label if target_is_real else self.fake_label).expand_as(prediction)
            return self.loss(prediction, t)
        return -prediction.mean() if target_is_real else prediction.mean()  # wgangp


class ImagePool:
    def __init__(self, pool_size):
        self.pool_size, self.num_imgs, self.images = pool_size, 0, []

    def query(self, images):
        if self.pool_size == 0:
            return images
        out = []
        for image in images:
            image = torch.unsqueeze(image.data, 0)
            if self.num_imgs < self.pool_size:
                self.num_imgs += 1
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                i = random.randint(0, self.pool_size - 1)
                tmp = self.images[i].clone()
                self.images[i] = image
                out.append(tmp)
            else:
                out.append(image)
        return torch.cat(out, 0)


def define_G(netG, ngf, norm="instance", use_dropout=False, n_blocks=None, num_downs=None):
    nl = get_norm_layer(norm)
    if netG == "resnet":
        net = ResnetGenerator(3, 3, ngf, norm_layer=nl, use_dropout=use_dropout, n_blocks=n_blocks)
    elif netG == "unet":
        net = UnetGenerator(3, 3, num_downs, ngf, norm_layer=nl, use_dropout=use_dropout)
    else:
        raise ValueError(netG)
    return init_weights(net)


def define_D(netD, ndf, norm="instance", n_layers=3):
    nl = get_norm_layer(norm)
    if netD == "n_layers":
        net = NLayerDiscriminator(3, ndf, n_layers, norm_layer=nl)
    elif netD == "pixel":
        net = PixelDiscriminator(3, ndf, norm_layer=nl)
    else:
        raise ValueError(netD)
    return init_weights(net)


# ----------------------------------------------------------------------------------------
# StarGAN v1 networks (model.py)
# ----------------------------------------------------------------------------------------

class ResidualBlock(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(dim_in, dim_out, 3, stride=1, padding=1, bias=False),
            nn.InstanceNorm2d(dim_out, affine=True, track_running_stats=True), nn.ReLU(inplace=True),
            nn.Conv2d(dim_out, dim_out, 3, stride=1, padding=1, bias=False),
            nn.InstanceNorm2d(dim_out, affine=True, track_running_stats=True))

    def forward(self, x):
        return x + self.main(x)


class Generator(nn.Module):
    def __init__(self, conv_dim=64, c_dim=5, repeat_num=6):
        super().__init__()
        IN = functools.partial(nn.InstanceNorm2d, affine=True, track_running_stats=True)
        L = [nn.Conv2d(3 + c_dim, conv_dim, 7, stride=1, padding=3, bias=False), IN(conv_dim), nn.ReLU(inplace=True)]
        d = conv_dim
        for _ in range(2):
            L += [nn.Conv2d(d, d * 2, 4, stride=2, padding=1, bias=False), IN(d * 2), nn.ReLU(inplace=True)]
            d *= 2
        L += [ResidualBlock(d, d) for _ in range(repeat_num)]
        for _ in range(2):
            L += [nn.ConvTranspose2d(d, d // 2, 4, stride=2, padding=1, bias=False), IN(d // 2), nn.ReLU(inplace=True)]
            d //= 2
        L += [nn.Conv2d(d, 3, 7, stride=1, padding=3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*L)

    def forward(self, x, c):
        c = c.view(c.size(0), c.size(1), 1, 1).repeat(1, 1, x.size(2), x.size(3))
        return self.main(torch.cat([x, c], dim=1))


class Discriminator(nn.Module):
    def __init__(self, image_size=128, conv_dim=64, c_dim=5, repeat_num=6):
        super().__init__()
        L = [nn.Conv2d(3, conv_dim, 4, stride=2, padding=1), nn.LeakyReLU(0.01)]
        d = conv_dim
        for _ in range(1, repeat_num):
            L += [nn.Conv2d(d, d * 2, 4, stride=2, padding=1), nn.LeakyReLU(0.01)]
            d *= 2
        k = int(image_size / np.power(2, repeat_num))
        self.main = nn.Sequential(*L)
        self.conv1 = nn.Conv2d(d, 1, 3, stride=1, padding=1, bias=False)
        self.conv2 = nn.Conv2d(d, c_dim, k, bias=False)

    def forward(self, x):
        h = self.main(x)
        out_cls = self.conv2(h)
        return self.conv1(h), out_cls.view(out_cls.size(0), out_cls.size(1))


# ----------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------

class TensorFile:
    """Ordered F32 tensors for one safetensors file; names must be unique."""

    def __init__(self):
        self.t = collections.OrderedDict()

    def add(self, name, tensor):
        assert name not in self.t, name
        self.t[name] = torch.as_tensor(tensor).detach().to(torch.float32).contiguous().clone()

    def add_state(self, prefix, net_or_sd):
        sd = net_or_sd.state_dict() if isinstance(net_or_sd, nn.Module) else net_or_sd
        for k, v in sd.items():
            self.add(prefix + k, v)

    def add_grads(self, prefix, net):
        for k, p in net.named_parameters():
            assert p.grad is not None, prefix + k
            self.add(prefix + k, p.grad)


def write_safetensors(path, tf, metadata):
    """Minimal safetensors writer: u64 LE header size, JSON header, raw little-endian data."""
    header = collections.OrderedDict()
    header["__metadata__"] = collections.OrderedDict((k, str(v)) for k, v in metadata.items())
    blobs, off = [], 0
    for name, t in tf.t.items():
        b = t.numpy().astype("<f4", copy=False).tobytes()
        header[name] = collections.OrderedDict(
            [("dtype", "F32"), ("shape", list(t.shape)), ("data_offsets", [off, off + len(b)])])
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    # Round-trip check with an independent reader.
    got = read_safetensors(path)
    assert list(got) == list(tf.t), path
    for k, v in tf.t.items():
        assert torch.equal(got[k], v), (path, k)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n], object_pairs_hook=collections.OrderedDict)
    header.pop("__metadata__", None)
    out = collections.OrderedDict()
    for k, e in header.items():
        a, b = e["data_offsets"]
        arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(e["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out


def save_pth(net_or_sd, name):
    sd = net_or_sd.state_dict() if isinstance(net_or_sd, nn.Module) else net_or_sd
    path = os.path.join(HERE, name)
    torch.save(sd, path)
    back = torch.load(path)
    assert list(back) == list(sd)
    for k in sd:
        assert torch.equal(back[k], sd[k]), (name, k)
    return path


def _deterministic_legacy_save():
    # torch's legacy (non-zip) writer names storages by memory address, so its bytes change
    # from run to run. Same writer, with storage keys numbered 0, 1, 2, ... instead.
    import torch.serialization as ser
    src = inspect.getsource(ser._legacy_save)
    old = "storage_key = str(storage._cdata)"
    assert src.count(old) == 1
    src = src.replace(old, "storage_key = str(_ganrt_keys.setdefault(storage._cdata, len(_ganrt_keys)))")
    src = src.replace("def _legacy_save(", "def _ganrt_legacy_save(", 1)
    ns = dict(ser.__dict__)
    exec(compile(src, ser.__file__, "exec"), ns)

    def save(obj, path):
        ns["_ganrt_keys"] = {}
        with open(path, "wb") as f:
            ns["_ganrt_legacy_save"](obj, f, ser.pickle, ser.DEFAULT_PROTOCOL)
    return save


legacy_save = _deterministic_legacy_save()


def meta(case, kind, **kw):
    m = collections.OrderedDict([("format", FORMAT), ("case", case), ("kind", kind), ("torch_version", TORCH)])
    for k, v in kw.items():
        m[k] = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
    return m


def seed(s):
    torch.manual_seed(s)
    random.seed(s)
    np.random.seed(s)


def rand_img(*shape):
    return torch.rand(*shape) * 2 - 1


def perturb(net, track_value=1234):
    """Move biases, affine norm parameters and running statistics away from 0/1."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.bias is not None:
                m.bias.uniform_(-0.1, 0.1)
            if isinstance(m, (nn.InstanceNorm2d, nn.BatchNorm2d)):
                if m.affine:
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.5, 0.5)
                if m.track_running_stats:
                    m.running_mean.uniform_(-1.0, 1.0)
                    m.running_var.uniform_(0.25, 4.0)
                    m.num_batches_tracked.fill_(track_value)
    return net


def biases_before_norm(net):
    """Keys of conv biases fed straight into a normalisation layer. Their true gradient is 0
    (the norm subtracts the per-channel mean), so the stored gradients are float32 rounding
    noise, and Adam turns that noise into steps of about lr: compare such entries loosely."""
    keys = []
    for pre, m in net.named_modules():
        if isinstance(m, nn.Sequential):
            kids = list(m.named_children())
            for (n, a), (_, b) in zip(kids, kids[1:]):
                if isinstance(a, (nn.Conv2d, nn.ConvTranspose2d)) and a.bias is not None and \
                        isinstance(b, (nn.InstanceNorm2d, nn.BatchNorm2d)):
                    keys.append((pre + "." if pre else "") + n + ".bias")
    return keys


def num_params(net):
    return sum(p.numel() for p in net.parameters())


# ----------------------------------------------------------------------------------------
# Forward cases
# ----------------------------------------------------------------------------------------

def forward_case(name, net, inputs, opts, mode="eval", notes="", acts=None, extra=None, pth=None):
    """inputs: list of tuples of input tensors; writes NAME.pth (net's state dict, or pth)
    and NAME.io.safetensors."""
    save_pth(net if pth is None else pth, name + ".pth")
    tf = TensorFile()
    net.train(mode == "train")
    with torch.no_grad():
        for i, ins in enumerate(inputs):
            ins = ins if isinstance(ins, tuple) else (ins,)
            labels = ["input%d" % i, "label%d" % i][:len(ins)]
            for lab, x in zip(labels, ins):
                tf.add(lab, x)
            out = net(*[x.clone() for x in ins])
            if isinstance(out, tuple):  # StarGAN D
                tf.add("out_src%d" % i, out[0])
                tf.add("out_cls%d" % i, out[1])
            else:
                tf.add("output%d" % i, out)
            if acts and i == 0:
                h = ins[0].clone()
                for j, layer in enumerate(net.model):
                    h = layer(h)
                    if j in acts:
                        tf.add("act0.model.%d" % j, h)
                assert torch.equal(h, tf.t["output0"])
    if extra:
        extra(tf)
    write_safetensors(os.path.join(HERE, name + ".io.safetensors"), tf,
                      meta(name, "forward", options=opts, mode=mode, notes=notes,
                           num_parameters=num_params(net)))
    return tf


def cyclegan_forward_cases():
    # 1. ResNet 6 blocks, ngf 8, square batch of 2 and a non-square image.
    seed(101)
    opts = dict(netG="resnet_6blocks", input_nc=3, output_nc=3, ngf=8, norm="instance", use_dropout=False, n_blocks=6)
    net = perturb(define_G("resnet", 8, n_blocks=6))
    forward_case("cyclegan_resnet6_ngf8", net, [rand_img(2, 3, 32, 32), rand_img(1, 3, 64, 96)], opts,
                 acts={3, 9, 15, 23},
                 notes="act0.model.N = output of model[N] for input0 (23 = last conv, before tanh)")

    # 2. ResNet 9 blocks, ngf 4.
    seed(102)
    opts = dict(netG="resnet_9blocks", input_nc=3, output_nc=3, ngf=4, norm="instance", use_dropout=False, n_blocks=9)
    net = perturb(define_G("resnet", 4, n_blocks=9))
    forward_case("cyclegan_resnet9_ngf4", net, [rand_img(1, 3, 32, 32)], opts)

    # 3. ResNet 6 blocks with dropout (conv_block keys 1 and 6); eval(): dropout is identity.
    #    ngf 4 rather than 8 to keep the folder small; the case is about the key shift.
    seed(103)
    opts = dict(netG="resnet_6blocks", input_nc=3, output_nc=3, ngf=4, norm="instance", use_dropout=True, n_blocks=6)
    net = perturb(define_G("resnet", 4, n_blocks=6, use_dropout=True))
    assert "model.10.conv_block.6.weight" in net.state_dict()
    x = rand_img(1, 3, 32, 32)
    tf = forward_case("cyclegan_resnet6_ngf4_dropout", net, [x], opts, mode="eval",
                      notes="eval mode: Dropout(0.5) is the identity")
    with torch.no_grad():
        assert (net.train()(x.clone()) - tf.t["output0"]).abs().max() > 1e-3  # dropout is live in train()

    # 4. U-Net, num_downs 7 (unet_128) and 5.
    seed(104)
    opts = dict(netG="unet_128", input_nc=3, output_nc=3, ngf=4, norm="instance", use_dropout=False, num_downs=7)
    net = perturb(define_G("unet", 4, num_downs=7))
    forward_case("cyclegan_unet7_ngf4", net, [rand_img(1, 3, 128, 128)], opts)

    seed(105)
    opts = dict(netG="unet", input_nc=3, output_nc=3, ngf=4, norm="instance", use_dropout=False, num_downs=5)
    net = perturb(define_G("unet", 4, num_downs=5))
    forward_case("cyclegan_unet5_ngf4", net, [rand_img(2, 3, 32, 64)], opts)

    # 5. PatchGAN discriminators.
    seed(106)
    opts = dict(netD="basic", input_nc=3, ndf=8, norm="instance", n_layers=3)
    net = perturb(define_D("n_layers", 8, n_layers=3))
    forward_case("cyclegan_patchgan_basic_ndf8", net, [rand_img(2, 3, 64, 64), rand_img(1, 3, 64, 96)], opts)

    seed(107)
    opts = dict(netD="n_layers", input_nc=3, ndf=8, norm="instance", n_layers=2)
    net = perturb(define_D("n_layers", 8, n_layers=2))
    forward_case("cyclegan_patchgan_n2_ndf8", net, [rand_img(2, 3, 32, 32)], opts)

    seed(108)
    opts = dict(netD="pixel", input_nc=3, ndf=8, norm="instance")
    net = perturb(define_D("pixel", 8))
    forward_case("cyclegan_pixel_ndf8", net, [rand_img(2, 3, 16, 16)], opts)
    # Same state dict in torch's legacy (pre-1.6, non-zip) serialization format.
    path = os.path.join(HERE, "cyclegan_pixel_ndf8.legacy.pth")
    legacy_save(net.state_dict(), path)
    back = torch.load(path)
    assert list(back) == list(net.state_dict()) and all(torch.equal(back[k], v) for k, v in net.state_dict().items())

    # Legacy pretrained layout: instance norm with running stats in the state dict
    # (model.N.running_mean / running_var / num_batches_tracked), which must be ignored.
    seed(109)
    opts = dict(netG="resnet_6blocks", input_nc=3, output_nc=3, ngf=4, norm="instance", use_dropout=False,
                n_blocks=6, legacy_running_stats=True)
    legacy = perturb(define_G("resnet", 4, n_blocks=6, norm="instance_legacy"))
    modern = define_G("resnet", 4, n_blocks=6)
    sd = {k: v for k, v in legacy.state_dict().items()
          if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))}
    modern.load_state_dict(sd)
    legacy_sd = collections.OrderedDict((k, v.clone()) for k, v in legacy.state_dict().items())
    assert len(legacy_sd) == len(sd) + 3 * 17  # 17 instance norms
    x = rand_img(1, 3, 32, 32)
    with torch.no_grad():
        y_eval = legacy.eval()(x.clone())
        y_train = legacy.train()(x.clone())  # (updates the buffers; legacy_sd was copied before)

    def check(tf):
        assert torch.allclose(tf.t["output0"], y_train, atol=0, rtol=0)
        assert (tf.t["output0"] - y_eval).abs().max() > 1e-2, "running stats should change the output"

    forward_case("cyclegan_resnet6_ngf4_legacykeys", modern, [x], opts, extra=check, pth=legacy_sd,
                 notes="the .pth carries running stats (perturbed) on every instance norm; "
                       "output uses per-image statistics, i.e. those keys are ignored")


def stargan_forward_cases():
    seed(201)
    opts = dict(conv_dim=8, c_dim=5, repeat_num=2)
    G = perturb(Generator(**opts))
    x0, c0 = rand_img(2, 3, 32, 32), torch.tensor([[1, 0, 0, 1, 1], [0, 0, 1, 0, 1]], dtype=torch.float32)
    x1, c1 = rand_img(1, 3, 32, 48), torch.tensor([[0, 1, 0, 1, 0]], dtype=torch.float32)
    save_pth(G, "stargan_g_c5.pth")
    with torch.no_grad():
        wrong = G.eval()(x0, c0)
    tf = forward_case("stargan_g_c5", G, [(x0, c0), (x1, c1)], opts, mode="train",
                      notes="train mode: instance norm uses per-image statistics; the running stats in the "
                            ".pth are perturbed and must NOT be used")
    assert (tf.t["output0"] - wrong).abs().max() > 1e-2

    seed(202)
    opts = dict(image_size=32, conv_dim=8, c_dim=5, repeat_num=3)
    D = Discriminator(**opts)
    forward_case("stargan_d_img32_c5", D, [rand_img(2, 3, 32, 32)], opts,
                 notes="PyTorch default init; out_srcI [N,1,4,4], out_clsI [N,c_dim]")


# ----------------------------------------------------------------------------------------
# Training-step cases
# ----------------------------------------------------------------------------------------

CG_TRAIN = dict(netG="resnet", ngf=4, n_blocks=2, netD="n_layers", ndf=4, n_layers_D=2, norm="instance",
                pool_size=0, lambda_A=10.0, lambda_B=10.0, lambda_identity=0.5, lr=2e-4, beta1=0.5,
                beta2=0.999, image=[1, 3, 16, 16], iterations=2)


def cyclegan_iterations(nets, real_A, real_B, gan_mode, cfg):
    """Runs cfg["iterations"] iterations of CycleGANModel.optimize_parameters on nets (G_A, G_B,
    D_A, D_B, in train mode) and returns a TensorFile with the real images, the iter1 images
    and gradients and every iteration's losses. The module calls run in the reference's
    order, which is also the order in which batch norms update their running statistics."""
    G_A, G_B, D_A, D_B = nets["G_A"], nets["G_B"], nets["D_A"], nets["D_B"]
    crit, l1 = GANLoss(gan_mode), nn.L1Loss()
    lam_A, lam_B, lam_idt = cfg["lambda_A"], cfg["lambda_B"], cfg["lambda_identity"]
    betas = (cfg["beta1"], cfg["beta2"])
    opt_G = torch.optim.Adam(itertools.chain(G_A.parameters(), G_B.parameters()), lr=cfg["lr"], betas=betas)
    opt_D = torch.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), lr=cfg["lr"], betas=betas)
    pool_A, pool_B = ImagePool(cfg["pool_size"]), ImagePool(cfg["pool_size"])

    def set_requires_grad(ns, flag):
        for net in ns:
            for p in net.parameters():
                p.requires_grad = flag

    def backward_D_basic(netD, real, fake):
        loss = (crit(netD(real), True) + crit(netD(fake.detach()), False)) * 0.5
        loss.backward()
        return loss

    tf = TensorFile()
    tf.add("real_A", real_A)
    tf.add("real_B", real_B)
    for it in range(1, cfg["iterations"] + 1):
        p = "iter%d." % it
        # forward()
        fake_B = G_A(real_A)
        rec_A = G_B(fake_B)
        fake_A = G_B(real_B)
        rec_B = G_A(fake_A)
        # G_A and G_B
        set_requires_grad([D_A, D_B], False)
        opt_G.zero_grad()
        idt_A = G_A(real_B)
        loss_idt_A = l1(idt_A, real_B) * lam_B * lam_idt
        idt_B = G_B(real_A)
        loss_idt_B = l1(idt_B, real_A) * lam_A * lam_idt
        loss_G_A = crit(D_A(fake_B), True)
        loss_G_B = crit(D_B(fake_A), True)
        loss_cycle_A = l1(rec_A, real_A) * lam_A
        loss_cycle_B = l1(rec_B, real_B) * lam_B
        loss_G = loss_G_A + loss_G_B + loss_cycle_A + loss_cycle_B + loss_idt_A + loss_idt_B
        loss_G.backward()
        if it == 1:
            for n, t in (("fake_B", fake_B), ("rec_A", rec_A), ("fake_A", fake_A), ("rec_B", rec_B),
                         ("idt_A", idt_A), ("idt_B", idt_B)):
                tf.add(p + n, t)
            for n in ("G_A", "G_B"):
                tf.add_grads(p + "grad.%s." % n, nets[n])
        opt_G.step()
        # D_A and D_B (fakes from the forward above, i.e. before the G update)
        set_requires_grad([D_A, D_B], True)
        opt_D.zero_grad()
        loss_D_A = backward_D_basic(D_A, real_B, pool_B.query(fake_B))
        loss_D_B = backward_D_basic(D_B, real_A, pool_A.query(fake_A))
        if it == 1:
            for n in ("D_A", "D_B"):
                tf.add_grads(p + "grad.%s." % n, nets[n])
        opt_D.step()
        losses = collections.OrderedDict([
            ("D_A", loss_D_A), ("G_A", loss_G_A), ("cycle_A", loss_cycle_A), ("idt_A", loss_idt_A),
            ("D_B", loss_D_B), ("G_B", loss_G_B), ("cycle_B", loss_cycle_B), ("idt_B", loss_idt_B)])
        for n, v in losses.items():
            tf.add(p + "loss." + n, v)
        tf.add(p + "loss.G", loss_G)
    return tf


def cyclegan_train_cases():
    seed(301)
    nets0 = collections.OrderedDict()
    for n in ("G_A", "G_B"):
        nets0[n] = perturb(define_G("resnet", CG_TRAIN["ngf"], n_blocks=CG_TRAIN["n_blocks"]))
    for n in ("D_A", "D_B"):
        nets0[n] = perturb(define_D("n_layers", CG_TRAIN["ndf"], n_layers=CG_TRAIN["n_layers_D"]))
    for n, net in nets0.items():
        save_pth(net, "cyclegan_train.%s.pth" % n)
    real_A, real_B = rand_img(*CG_TRAIN["image"]), rand_img(*CG_TRAIN["image"])
    sds = {n: {k: v.clone() for k, v in net.state_dict().items()} for n, net in nets0.items()}

    for gan_mode in ("lsgan", "vanilla"):
        seed(302)
        G_A = define_G("resnet", CG_TRAIN["ngf"], n_blocks=CG_TRAIN["n_blocks"])
        G_B = define_G("resnet", CG_TRAIN["ngf"], n_blocks=CG_TRAIN["n_blocks"])
        D_A = define_D("n_layers", CG_TRAIN["ndf"], n_layers=CG_TRAIN["n_layers_D"])
        D_B = define_D("n_layers", CG_TRAIN["ndf"], n_layers=CG_TRAIN["n_layers_D"])
        nets = collections.OrderedDict([("G_A", G_A), ("G_B", G_B), ("D_A", D_A), ("D_B", D_B)])
        for n, net in nets.items():
            net.load_state_dict(sds[n])
            net.train()
        tf = cyclegan_iterations(nets, real_A, real_B, gan_mode, CG_TRAIN)
        for n, net in nets.items():
            tf.add_state("iter2.after.%s." % n, net)
        noisy = ["%s.%s" % (n, k) for n, net in nets.items() for k in biases_before_norm(net)]
        for k in noisy:
            assert tf.t["iter1.grad." + k].abs().max() < 1e-5, k
        assert len(noisy) == 2 * (5 + 2 * CG_TRAIN["n_blocks"]) + 2 * CG_TRAIN["n_layers_D"], noisy
        name = "cyclegan_train_%s" % gan_mode
        opts = dict(CG_TRAIN, gan_mode=gan_mode)
        write_safetensors(os.path.join(HERE, name + ".io.safetensors"), tf,
                          meta(name, "train_cyclegan", options=opts,
                               init="cyclegan_train.{G_A,G_B,D_A,D_B}.pth", noise_grad_params=noisy,
                               notes="two iterations of CycleGANModel.optimize_parameters; pool_size 0 "
                                     "(pool returns the new fake); iter1.grad.* = gradients before the "
                                     "optimizer step; losses are scalars (shape [])"))


CG_TRAIN_BN = dict(CG_TRAIN, norm="batch", image=[2, 3, 16, 16], gan_mode="lsgan", eval_image=[1, 3, 16, 24])

# The module calls of one iteration, in the reference's order (see cyclegan_iterations). Each
# one updates the running statistics of the net's batch norms from the statistics of its own
# input, starting from the statistics the previous call of the same net left.
CG_BN_CALLS = [("G_A", "fake_B"), ("G_B", "rec_A"), ("G_B", "fake_A"), ("G_A", "rec_B"),
               ("G_A", "idt_A"), ("G_B", "idt_B"), ("D_A", "fake_B"), ("D_B", "fake_A"),
               ("D_A", "real_B"), ("D_A", "pool_fake_B"), ("D_B", "real_A"), ("D_B", "pool_fake_A")]


def cyclegan_train_batchnorm_case():
    """CycleGAN with --norm batch: BatchNorm2d(affine, track_running_stats, momentum 0.1) in all
    four nets, batch 2 so that batch statistics mean something; then an eval()-mode forward of
    G_A, which normalizes with the running statistics."""
    cfg = CG_TRAIN_BN
    seed(601)
    nets0 = collections.OrderedDict()
    for n in ("G_A", "G_B"):
        nets0[n] = perturb(define_G("resnet", cfg["ngf"], norm="batch", n_blocks=cfg["n_blocks"]))
    for n in ("D_A", "D_B"):
        nets0[n] = perturb(define_D("n_layers", cfg["ndf"], norm="batch", n_layers=cfg["n_layers_D"]))
    for n, net in nets0.items():
        save_pth(net, "cyclegan_train_bn.%s.pth" % n)
    real_A, real_B = rand_img(*cfg["image"]), rand_img(*cfg["image"])
    x_eval = rand_img(*cfg["eval_image"])
    nets = nets0  # trained in place: the .pth files above hold the initial weights
    for net in nets.values():
        net.train()
    n_bn = {n: sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) for n, net in nets.items()}
    assert n_bn == {"G_A": 9, "G_B": 9, "D_A": 2, "D_B": 2}, n_bn
    before = {n: {k: v.clone() for k, v in net.state_dict().items()} for n, net in nets.items()}

    # Replay of the running-stat updates from the inputs of every norm call, in CG_BN_CALLS
    # order: checks that the order above is the one the reference runs.
    seen = {n: [] for n in nets}
    starts = []  # the net of each module call, in execution order
    hooks = []
    for n, net in nets.items():
        first = True
        for key, m in net.named_modules():
            if isinstance(m, nn.BatchNorm2d):
                def hook(mod, inp, out, n=n, key=key, first=first):
                    x = inp[0].detach().double()
                    seen[n].append((key, x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=True)))
                    if first:
                        starts.append(n)
                hooks.append(m.register_forward_hook(hook))
                first = False
    tf = cyclegan_iterations(nets, real_A, real_B, cfg["gan_mode"], cfg)
    for h in hooks:
        h.remove()
    assert starts == [n for n, _ in CG_BN_CALLS] * cfg["iterations"], starts
    calls = {n: [c for net_, c in CG_BN_CALLS if net_ == n] for n in nets}
    for n, net in nets.items():
        assert len(seen[n]) == cfg["iterations"] * len(calls[n]) * n_bn[n], (n, len(seen[n]))
        sd = net.state_dict()
        for key, m in net.named_modules():
            if not isinstance(m, nn.BatchNorm2d):
                continue
            rm, rv = before[n][key + ".running_mean"].double(), before[n][key + ".running_var"].double()
            for k, mean, var in (s for s in seen[n] if s[0] == key):
                rm, rv = 0.9 * rm + 0.1 * mean, 0.9 * rv + 0.1 * var
            assert (rm - sd[key + ".running_mean"].double()).abs().max() < 1e-5, (n, key)
            assert (rv - sd[key + ".running_var"].double()).abs().max() < 1e-5 * rv.abs().max(), (n, key)
            want = 1234 + cfg["iterations"] * len(calls[n])
            assert sd[key + ".num_batches_tracked"].item() == want, (n, key)
    for n, net in nets.items():
        tf.add_state("iter%d.after.%s." % (cfg["iterations"], n), net)
    noisy = ["%s.%s" % (n, k) for n, net in nets.items() for k in biases_before_norm(net)]
    assert noisy == [], noisy  # batch norm: the convs before a norm have no bias
    G_A = nets["G_A"]
    with torch.no_grad():
        y_eval = G_A.eval()(x_eval.clone())
        y_train = G_A.train()(torch.cat([x_eval, x_eval], 0))[:1]  # (updates the buffers: after tf.add_state)
    assert (y_eval - y_train).abs().max() > 1e-2, "running stats should change the output"
    tf.add("eval.G_A.input0", x_eval)
    tf.add("eval.G_A.output0", y_eval)
    name = "cyclegan_train_bn_lsgan"
    write_safetensors(os.path.join(HERE, name + ".io.safetensors"), tf,
                      meta(name, "train_cyclegan", options=cfg,
                           init="cyclegan_train_bn.{G_A,G_B,D_A,D_B}.pth", noise_grad_params=noisy,
                           norm_calls=["%s@%s" % c for c in CG_BN_CALLS],
                           notes="two iterations of CycleGANModel.optimize_parameters with batch norm "
                                 "in every net (momentum 0.1, eps 1e-5), batch 2, pool_size 0; "
                                 "norm_calls = the train-mode module calls of one iteration in the "
                                 "order they update the running statistics; iter2.after.* are full "
                                 "state dicts (running stats, num_batches_tracked as F32); "
                                 "eval.G_A.output0 = G_A.eval()(eval.G_A.input0) after training"))


SG_TRAIN = dict(g_conv_dim=8, c_dim=3, g_repeat_num=1, image_size=32, d_conv_dim=8, d_repeat_num=2,
                lambda_cls=1.0, lambda_rec=10.0, lambda_gp=10.0, g_lr=1e-4, d_lr=1e-4, beta1=0.5, beta2=0.999,
                batch=2, perm=[1, 0])


def stargan_train_cases():
    seed(401)
    G0 = perturb(Generator(SG_TRAIN["g_conv_dim"], SG_TRAIN["c_dim"], SG_TRAIN["g_repeat_num"]))
    D0 = Discriminator(SG_TRAIN["image_size"], SG_TRAIN["d_conv_dim"], SG_TRAIN["c_dim"], SG_TRAIN["d_repeat_num"])
    save_pth(G0, "stargan_train.G.pth")
    save_pth(D0, "stargan_train.D.pth")
    x_real = rand_img(2, 3, 32, 32)
    alpha = torch.rand(2, 1, 1, 1)
    gsd = {k: v.clone() for k, v in G0.state_dict().items()}
    dsd = {k: v.clone() for k, v in D0.state_dict().items()}
    perm = torch.tensor(SG_TRAIN["perm"])

    for dataset in ("multilabel", "singlelabel"):
        seed(402)
        G = Generator(SG_TRAIN["g_conv_dim"], SG_TRAIN["c_dim"], SG_TRAIN["g_repeat_num"])
        D = Discriminator(SG_TRAIN["image_size"], SG_TRAIN["d_conv_dim"], SG_TRAIN["c_dim"], SG_TRAIN["d_repeat_num"])
        G.load_state_dict(gsd)
        D.load_state_dict(dsd)
        G.train()
        D.train()
        betas = [SG_TRAIN["beta1"], SG_TRAIN["beta2"]]
        g_opt = torch.optim.Adam(G.parameters(), SG_TRAIN["g_lr"], betas)
        d_opt = torch.optim.Adam(D.parameters(), SG_TRAIN["d_lr"], betas)

        if dataset == "multilabel":  # CelebA style
            label_org = torch.tensor([[1, 0, 1], [0, 1, 1]], dtype=torch.float32)
            label_trg = label_org[perm]
            c_org, c_trg = label_org.clone(), label_trg.clone()

            def cls_loss(logit, target):
                # == F.binary_cross_entropy_with_logits(logit, target, size_average=False) / logit.size(0)
                return F.binary_cross_entropy_with_logits(logit, target, reduction="sum") / logit.size(0)
        else:  # RaFD style, integer class targets
            label_org = torch.tensor([0, 2])
            label_trg = label_org[perm]
            c_org = F.one_hot(label_org, SG_TRAIN["c_dim"]).float()
            c_trg = F.one_hot(label_trg, SG_TRAIN["c_dim"]).float()

            def cls_loss(logit, target):
                return F.cross_entropy(logit, target)

        def reset_grad():
            g_opt.zero_grad()
            d_opt.zero_grad()

        def gradient_penalty(y, x):
            w = torch.ones(y.size())
            dydx = torch.autograd.grad(outputs=y, inputs=x, grad_outputs=w, retain_graph=True,
                                       create_graph=True, only_inputs=True)[0]
            dydx = dydx.view(dydx.size(0), -1)
            return torch.mean((torch.sqrt(torch.sum(dydx ** 2, dim=1)) - 1) ** 2)

        tf = TensorFile()
        for n, t in (("x_real", x_real), ("alpha", alpha), ("c_org", c_org), ("c_trg", c_trg),
                     ("label_org", label_org), ("label_trg", label_trg)):
            tf.add(n, t)

        # Train the discriminator.
        out_src, out_cls = D(x_real)
        d_loss_real = -torch.mean(out_src)
        d_loss_cls = cls_loss(out_cls, label_org)
        x_fake = G(x_real, c_trg)
        out_src, out_cls = D(x_fake.detach())
        d_loss_fake = torch.mean(out_src)
        x_hat = (alpha * x_real.data + (1 - alpha) * x_fake.data).requires_grad_(True)
        out_src, _ = D(x_hat)
        d_loss_gp = gradient_penalty(out_src, x_hat)
        d_loss = d_loss_real + d_loss_fake + SG_TRAIN["lambda_cls"] * d_loss_cls + SG_TRAIN["lambda_gp"] * d_loss_gp
        reset_grad()
        d_loss.backward()
        tf.add("stepD.x_fake", x_fake)
        for n, v in (("real", d_loss_real), ("fake", d_loss_fake), ("cls", d_loss_cls), ("gp", d_loss_gp),
                     ("total", d_loss)):
            tf.add("stepD.loss." + n, v)
        tf.add_grads("stepD.grad.D.", D)
        d_opt.step()
        tf.add_state("stepD.after.D.", D)

        # Train the generator (the reference does this when (i+1) % n_critic == 0).
        x_fake = G(x_real, c_trg)
        out_src, out_cls = D(x_fake)
        g_loss_fake = -torch.mean(out_src)
        g_loss_cls = cls_loss(out_cls, label_trg)
        x_reconst = G(x_fake, c_org)
        g_loss_rec = torch.mean(torch.abs(x_real - x_reconst))
        g_loss = g_loss_fake + SG_TRAIN["lambda_rec"] * g_loss_rec + SG_TRAIN["lambda_cls"] * g_loss_cls
        reset_grad()
        g_loss.backward()
        tf.add("stepG.x_reconst", x_reconst)
        for n, v in (("fake", g_loss_fake), ("rec", g_loss_rec), ("cls", g_loss_cls), ("total", g_loss)):
            tf.add("stepG.loss." + n, v)
        tf.add_grads("stepG.grad.G.", G)
        # The label channels are spatially constant and main.0 feeds an instance norm, so the
        # centre tap of main.0.weight over the label channels has a true gradient of exactly 0
        # (the norm's input gradient sums to 0 over H x W): float32 noise, turned by Adam
        # into a step of about lr.
        assert G.main[0].weight.grad[:, 3:, 3, 3].abs().max() < 1e-5
        g_opt.step()
        tf.add_state("stepG.after.G.", G)

        name = "stargan_train_%s" % dataset
        opts = dict(SG_TRAIN, dataset=("CelebA" if dataset == "multilabel" else "RaFD"))
        write_safetensors(os.path.join(HERE, name + ".io.safetensors"), tf,
                          meta(name, "train_stargan", options=opts, init="stargan_train.{G,D}.pth",
                               noise_grad_elements=["G.main.0.weight[:, 3:, 3, 3]"],
                               notes="one D step then one G step of solver.train (one iteration with "
                                     "(i+1) % n_critic == 0); label_trg = label_org[perm]; labels stored as "
                                     "F32 (integer class indices for singlelabel); G in train mode, so its "
                                     "running stats buffers in stepG.after.G.* reflect the three G forwards"))


# ----------------------------------------------------------------------------------------
# Full-width key lists
# ----------------------------------------------------------------------------------------

def fullwidth_keys():
    seed(501)
    R9 = ResnetGenerator(3, 3, 64, get_norm_layer("instance"), False, 9)
    R6 = ResnetGenerator(3, 3, 64, get_norm_layer("instance"), False, 6)
    R9L = ResnetGenerator(3, 3, 64, get_norm_layer("instance_legacy"), False, 9)
    DB = NLayerDiscriminator(3, 64, 3, get_norm_layer("instance"))
    PX = PixelDiscriminator(3, 64, get_norm_layer("instance"))
    U128 = UnetGenerator(3, 3, 7, 64, get_norm_layer("instance"))
    U256 = UnetGenerator(3, 3, 8, 64, get_norm_layer("instance"))
    SG = Generator(64, 5, 6)
    SD = Discriminator(128, 64, 5, 6)

    # Key sets exactly as REFERENCE.md states them.
    want = {"model.%d.%s" % (i, s) for i in (1, 4, 7, 19, 22, 26) for s in ("weight", "bias")}
    want |= {"model.%d.conv_block.%d.%s" % (i, j, s) for i in range(10, 19) for j in (1, 5) for s in ("weight", "bias")}
    assert set(R9.state_dict()) == want and len(want) == 48
    assert num_params(R9) == 11378179, num_params(R9)
    assert num_params(R6) == 7837699, num_params(R6)
    assert len(R6.state_dict()) == 36
    assert R9.state_dict()["model.19.weight"].shape == (256, 128, 3, 3)
    assert set(DB.state_dict()) == {"model.%d.%s" % (i, s) for i in (0, 2, 5, 8, 11) for s in ("weight", "bias")}
    assert num_params(DB) == 2764737, num_params(DB)
    IN5 = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    want = {"main.%d.weight" % i for i in (0, 3, 6, 15, 18, 21)}
    want |= {"main.%d.%s" % (i, s) for i in (1, 4, 7, 16, 19) for s in IN5}
    want |= {"main.%d.main.%d.weight" % (i, j) for i in range(9, 15) for j in (0, 3)}
    want |= {"main.%d.main.%d.%s" % (i, j, s) for i in range(9, 15) for j in (1, 4) for s in IN5}
    assert set(SG.state_dict()) == want and len(SG.state_dict()) == 103
    assert num_params(SG) == 8430528, num_params(SG)
    want = {"main.%d.%s" % (i, s) for i in (0, 2, 4, 6, 8, 10) for s in ("weight", "bias")} | {"conv1.weight", "conv2.weight"}
    assert set(SD.state_dict()) == want
    assert num_params(SD) == 44762048, num_params(SD)
    assert SD.state_dict()["conv2.weight"].shape == (5, 2048, 2, 2)
    legacy_extra = set(R9L.state_dict()) - set(R9.state_dict())
    assert all(k.rsplit(".", 1)[1] in ("running_mean", "running_var", "num_batches_tracked") for k in legacy_extra)
    with torch.no_grad():
        assert DB(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)
        s, c = SD(torch.zeros(1, 3, 128, 128))
        assert s.shape == (1, 1, 2, 2) and c.shape == (1, 5)

    models = collections.OrderedDict([
        ("resnet_9blocks", (R9, dict(netG="resnet_9blocks", ngf=64, norm="instance", n_blocks=9))),
        ("resnet_6blocks", (R6, dict(netG="resnet_6blocks", ngf=64, norm="instance", n_blocks=6))),
        ("resnet_9blocks_legacy_running_stats",
         (R9L, dict(netG="resnet_9blocks", ngf=64, norm="instance", n_blocks=9, legacy_running_stats=True))),
        ("unet_128", (U128, dict(netG="unet_128", ngf=64, norm="instance", num_downs=7))),
        ("unet_256", (U256, dict(netG="unet_256", ngf=64, norm="instance", num_downs=8))),
        ("basic", (DB, dict(netD="basic", ndf=64, norm="instance", n_layers=3))),
        ("pixel", (PX, dict(netD="pixel", ndf=64, norm="instance"))),
        ("stargan_G", (SG, dict(conv_dim=64, c_dim=5, repeat_num=6))),
        ("stargan_D", (SD, dict(image_size=128, conv_dim=64, c_dim=5, repeat_num=6))),
    ])
    out = collections.OrderedDict([("format", FORMAT), ("torch_version", TORCH), ("models", collections.OrderedDict())])
    for name, (net, opts) in models.items():
        sd = net.state_dict()
        out["models"][name] = collections.OrderedDict([
            ("options", opts),
            ("num_parameters", num_params(net)),
            ("num_state_dict_entries", len(sd)),
            ("state_dict", [collections.OrderedDict([("key", k), ("shape", list(v.shape)),
                                                     ("dtype", str(v.dtype).replace("torch.", ""))])
                            for k, v in sd.items()]),
        ])
    # Indented, with one line per state-dict entry.
    text = json.dumps(out, indent=1)
    text = re.sub(r'\{\n\s+"key": ("[^"]*"),\n\s+"shape": \[([^\]]*)\],\n\s+"dtype": ("[^"]*")\n\s+\}',
                  lambda m: '{"key": %s, "shape": [%s], "dtype": %s}' % (
                      m.group(1), ", ".join(x.strip() for x in m.group(2).split(",") if x.strip()), m.group(3)),
                  text)
    assert json.loads(text) == json.loads(json.dumps(out))
    with open(os.path.join(HERE, "fullwidth_keys.json"), "w") as f:
        f.write(text + "\n")
    print("full-width assertions passed:",
          {n: (num_params(m), len(m.state_dict())) for n, (m, _) in models.items()})


def cyclegan_trainnorm_case():
    """The reference's test.py without --eval runs the model in train() mode: batch norm then
    normalizes with the statistics of the batch (one image: test.py forces batch_size 1) and
    not the running ones. output0/1 are those train-mode outputs; eval_output0/1 are eval()'s
    (running statistics) for the same inputs, from a copy taken before the train-mode calls
    moved the running statistics. The net has no dropout."""
    seed(120)
    opts = dict(netG="resnet_6blocks", input_nc=3, output_nc=3, ngf=4, norm="batch", use_dropout=False, n_blocks=6)
    net = perturb(define_G("resnet", 4, norm="batch", n_blocks=6))
    frozen = ResnetGenerator(3, 3, 4, norm_layer=get_norm_layer("batch"), use_dropout=False, n_blocks=6)
    frozen.load_state_dict(net.state_dict())
    frozen.eval()
    inputs = [rand_img(1, 3, 32, 32), rand_img(1, 3, 32, 48)]

    def eval_outputs(tf):
        with torch.no_grad():
            for i, x in enumerate(inputs):
                tf.add("eval_output%d" % i, frozen(x.clone()))

    forward_case("cyclegan_resnet6_ngf4_bn_trainnorm", net, inputs, opts, mode="train", extra=eval_outputs,
                 notes="train mode (batch statistics of each one-image batch); eval_outputN: eval mode")


def main():
    assert TORCH.startswith("1.13"), "goldens are generated with Debian's python3-torch 1.13, got " + TORCH
    fullwidth_keys()
    cyclegan_forward_cases()
    stargan_forward_cases()
    cyclegan_train_cases()
    stargan_train_cases()
    cyclegan_train_batchnorm_case()
    cyclegan_trainnorm_case()
    print("wrote", len([f for f in os.listdir(HERE) if not f.endswith((".py", ".md"))]), "files to", HERE)


if __name__ == "__main__":
    sys.exit(main())
