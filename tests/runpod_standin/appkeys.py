"""The aiohttp application keys the stand-in's routes share."""
from aiohttp import web

from .jobs import JobBook

BOOK = web.AppKey("book", JobBook)
SETTINGS = web.AppKey("settings", dict)
