"""Page-number pagination as API.md states it: `?page=`, `?page_size=` up to 500.

The first page of a short list answers without a `COUNT(*)`: when it holds
fewer rows than a page, its length is the count. Longer lists count as usual.
"""

from django.core.paginator import Page
from django.core.paginator import Paginator as DjangoPaginator
from rest_framework import pagination


class ShortListPaginator(DjangoPaginator):
    def page(self, number):
        if str(number) == "1" and "count" not in self.__dict__:
            rows = list(self.object_list[: self.per_page + 1])
            if len(rows) <= self.per_page:
                self.__dict__["count"] = len(rows)  # fills the cached_property: no COUNT query
                return Page(rows, 1, self)
        return super().page(number)


class PageNumberPagination(pagination.PageNumberPagination):
    django_paginator_class = ShortListPaginator
    page_size_query_param = "page_size"
    max_page_size = 500
