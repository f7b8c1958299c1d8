"""walrus"""
