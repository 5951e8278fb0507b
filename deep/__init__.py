"""Fully convolutional networks (FCN-32s/16s/8s) on classification backbones.

Needs the ``deep`` extra: ``pip install 'segbench[deep]'`` (torch, torchvision).
"""
