"""Helpers the suite's test folders share, built on the shipped ``maaskit.testing`` plugin.

Test folders import from here (``from _support.server import ServerProcess``), never from
another folder's ``conftest`` or private modules.
"""
