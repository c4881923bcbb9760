"""Page-number pagination as docs/api.md states it: `?page=`, `?page_size=` up to 500.

The first page of a short list answers without a `COUNT(*)`: when it holds
fewer rows than a page, its length is the count. Longer lists count as usual.
"""

from django.core.paginator import Page
from django.core.paginator import Paginator as DjangoPaginator
from rest_framework import pagination


class ShortListPaginator(DjangoPaginator):
    def page(self, number):
        if str(number) != "1" or "count" in self.__dict__:
            return super().page(number)
        rows = list(self.object_list[: self.per_page + 1])
        if len(rows) <= self.per_page:
            self.__dict__["count"] = len(rows)  # fills the cached_property: no COUNT query
        # A full first page keeps the rows already fetched; only the count is asked for.
        return Page(rows[: self.per_page], 1, self)


class PageNumberPagination(pagination.PageNumberPagination):
    django_paginator_class = ShortListPaginator
    page_size_query_param = "page_size"
    max_page_size = 500
