import streamlit as st
st.title('inside')
st.info('This page is being built.')
